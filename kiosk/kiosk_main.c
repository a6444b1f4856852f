/* qms-kiosk: the touchscreen ticket kiosk (docs/kiosk.md).
 *
 * The loop sleeps until something happens: a tap, a message from the
 * broker, or the next timer (screen timeout, printer poll, the minute on the
 * welcome clock). It draws only when the app says the screen changed. */
#include "kiosk_app.h"
#include "kiosk_config.h"
#include "kiosk_draw.h"
#include "kiosk_journal.h"
#include "kiosk_script.h"
#include "kiosk_take.h"
#include "qms/clock.h"
#include "qms/conn.h"
#include "qms/err.h"
#include "qms/log.h"
#include "qms/png.h"
#include "qms/mqtt.h"

#include <SDL.h>
#include <SDL_image.h>
#include <SDL_ttf.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAIT_CAP_MS 60000
#define INPUT_TICK_MS 15 /* drivers whose input SDL can only poll (kmsdrm) */

enum wait_mode {
    WAIT_SDL,    /* the video driver can block (x11, wayland): SDL_WaitEventTimeout + watcher */
    WAIT_SOCKET, /* no real input (offscreen, dummy): block on the broker socket alone */
    WAIT_TICK,   /* input is polled by SDL: block on the socket, wake every INPUT_TICK_MS */
};

typedef struct ui {
    kiosk_config cfg;
    kiosk_app *app;
    SDL_Window *win;
    SDL_Renderer *ren;
    SDL_Texture *target; /* rotated panels: we draw here, then turn it */
    kiosk_draw *draw;
    int lw, lh; /* logical drawing size */
    int ow, oh; /* renderer output size */
    int ww, wh; /* window size (input coordinates) */
    int rotate;
    enum wait_mode mode;
    /* watcher thread (WAIT_SDL): wakes SDL_WaitEventTimeout when the broker
     * socket has data */
    SDL_Thread *watcher;
    SDL_atomic_t watch_fd;
    SDL_atomic_t quit;
    SDL_sem *serviced;
    int wake_pipe[2];
    Uint32 ev_net;
    int last_fd;
    /* script */
    kiosk_script script;
    int pc;
    int64_t wait_until;
    int64_t screen_deadline;
    const char *shot_dir;
    int script_failed;
    int frames;
} ui;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: qms-kiosk --config FILE --broker HOST:PORT --printer PATH [options]\n"
            "  --config FILE        kiosk settings (examples/kiosk.json) or a center config\n"
            "  --printer PATH       printer: /dev/ttyUSB0, a pty path, name:ttyUSB0, usb:VID:PID\n"
            "  --site S             site (topic root qms/S/)\n"
            "  --kiosk-id ID        this kiosk's id (device status topic)\n"
            "  --portrait           taller than wide\n"
            "  --width W --height H window / panel size in pixels\n"
            "  --diagonal IN        the panel's diagonal in inches (touch targets in mm)\n"
            "  --rotate DEG         0, 90, 180, 270: panel mounted turned\n"
            "  --fullscreen         take the whole display\n"
            "  --lang vi|en         the language the kiosk starts in\n"
            "  --qr-base URL        status URL template, {site} {id} {day} {ticket}\n"
            "  --idle-timeout S     menu back to the welcome screen after S seconds\n"
            "  --take CODE          take and print one ticket for service CODE, then exit\n"
            "  --priority CLASS     with --take: elderly, disabled, pregnant or child\n"
            "  --script FILE        run a test script (taps, waits, screenshots), then exit\n"
            "  --screenshot-dir DIR where the script's screenshots go\n"
            "  --trace FILE         JSON lines with tap / take / print times (benchmarks)\n"
            "  --log-level L        debug, info, warn (default), error\n"
            "  --state-file PATH    the journal of takes in flight (default: see docs/kiosk.md)\n"
            "%s",
            qms_conn_usage());
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* Where the journal lives (docs/kiosk.md): state_file as given on the
 * command line; from the settings file, relative to that file's folder;
 * not set, the default state folder. */
static int resolve_state_file(kiosk_config *cfg, const char *config_path, int from_cli)
{
    char dir[512];
    const char *slash = strrchr(config_path, '/');
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - config_path), config_path);
    else
        snprintf(dir, sizeof dir, ".");
    if (!dir[0])
        snprintf(dir, sizeof dir, "/");
    char path[sizeof cfg->state_file];
    int n;
    if (!cfg->state_file[0]) {
        kiosk_journal_default_path(cfg->site, cfg->kiosk_id, dir, path, sizeof path);
        n = (int)strlen(path);
    } else if (cfg->state_file[0] == '/' || from_cli) {
        return 0;
    } else {
        n = snprintf(path, sizeof path, "%s/%s", dir, cfg->state_file);
    }
    if (n < 0 || (size_t)n >= sizeof path - 1)
        return -1;
    memcpy(cfg->state_file, path, (size_t)n + 1);
    return 0;
}

/* ---- drawing ------------------------------------------------------------ */

/* Save what the current render target holds (w x h) as DIR/NAME.png. */
static int save_png(ui *u, const char *name, int w, int h)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.png", u->shot_dir ? u->shot_dir : ".", name);
    int rc = qms_png_save_renderer(u->ren, w, h, path);
    if (rc)
        QMS_ERROR("screenshot %s: %s", path, SDL_GetError());
    else
        QMS_INFO("screenshot %s", path);
    return rc;
}

/* Draw the app's view; with shot != NULL also save it. */
static void render(ui *u, const char *shot)
{
    kiosk_view v;
    kiosk_app_view(u->app, &v);
    if (u->target)
        SDL_SetRenderTarget(u->ren, u->target);
    kiosk_draw_frame(u->draw, kiosk_app_layout(u->app), &v);
    if (shot && save_png(u, shot, u->lw, u->lh))
        u->script_failed = 1;
    if (u->target) {
        SDL_SetRenderTarget(u->ren, NULL);
        SDL_SetRenderDrawColor(u->ren, 0, 0, 0, 255);
        SDL_RenderClear(u->ren);
        SDL_Rect dst = {(u->ow - u->lw) / 2, (u->oh - u->lh) / 2, u->lw, u->lh};
        SDL_RenderCopyEx(u->ren, u->target, NULL, &dst, u->rotate, NULL, SDL_FLIP_NONE);
        if (shot) { /* a turned panel: also the frame as the panel shows it */
            char name[160];
            snprintf(name, sizeof name, "%s.panel", shot);
            if (save_png(u, name, u->ow, u->oh))
                u->script_failed = 1;
        }
    }
    SDL_RenderPresent(u->ren);
    kiosk_app_drawn(u->app);
    u->frames++;
}

static void present_now(void *ud)
{
    render(ud, NULL);
}

/* Window coordinates -> logical drawing coordinates (HiDPI, rotation). */
static void to_logical(const ui *u, float wx, float wy, int *x, int *y)
{
    float ox = u->ww ? wx * (float)u->ow / (float)u->ww : wx;
    float oy = u->wh ? wy * (float)u->oh / (float)u->wh : wy;
    /* undo the centered rotation */
    float cx = ox - (float)u->ow / 2, cy = oy - (float)u->oh / 2, lx = cx, ly = cy;
    switch (u->rotate) {
    case 90:
        lx = cy;
        ly = -cx;
        break;
    case 180:
        lx = -cx;
        ly = -cy;
        break;
    case 270:
        lx = -cy;
        ly = cx;
        break;
    default:
        break;
    }
    *x = (int)(lx + (float)u->lw / 2);
    *y = (int)(ly + (float)u->lh / 2);
}

static void to_window(const ui *u, int lx, int ly, int *wx, int *wy)
{
    float cx = (float)lx - (float)u->lw / 2, cy = (float)ly - (float)u->lh / 2, ox = cx, oy = cy;
    switch (u->rotate) {
    case 90:
        ox = -cy;
        oy = cx;
        break;
    case 180:
        ox = -cx;
        oy = -cy;
        break;
    case 270:
        ox = cy;
        oy = -cx;
        break;
    default:
        break;
    }
    ox += (float)u->ow / 2;
    oy += (float)u->oh / 2;
    *wx = u->ow ? (int)(ox * (float)u->ww / (float)u->ow) : (int)ox;
    *wy = u->oh ? (int)(oy * (float)u->wh / (float)u->oh) : (int)oy;
}

static int setup_sizes(ui *u)
{
    SDL_GetWindowSize(u->win, &u->ww, &u->wh);
    if (SDL_GetRendererOutputSize(u->ren, &u->ow, &u->oh))
        return -1;
    int turned = u->rotate == 90 || u->rotate == 270;
    u->lw = turned ? u->oh : u->ow;
    u->lh = turned ? u->ow : u->oh;
    if (u->target) {
        SDL_DestroyTexture(u->target);
        u->target = NULL;
    }
    if (u->rotate) {
        u->target = SDL_CreateTexture(u->ren, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_TARGET,
                                      u->lw, u->lh);
        if (!u->target) {
            QMS_ERROR("cannot rotate the screen: %s", SDL_GetError());
            return -1;
        }
    }
    kiosk_draw_flush(u->draw);
    kiosk_app_resize(u->app, u->lw, u->lh);
    return 0;
}

/* ---- waiting ------------------------------------------------------------ */

static int watcher_main(void *arg)
{
    ui *u = arg;
    while (!SDL_AtomicGet(&u->quit)) {
        struct pollfd p[2] = {{u->wake_pipe[0], POLLIN, 0},
                              {SDL_AtomicGet(&u->watch_fd), POLLIN, 0}};
        int n = p[1].fd >= 0 ? 2 : 1;
        if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents) {
            char buf[64];
            if (read(u->wake_pipe[0], buf, sizeof buf) < 0 && errno != EAGAIN)
                break;
            continue;
        }
        if (n == 2 && p[1].revents) {
            SDL_Event ev;
            memset(&ev, 0, sizeof ev);
            ev.type = u->ev_net;
            SDL_PushEvent(&ev);
            SDL_SemWait(u->serviced); /* until the main loop has read the socket */
        }
    }
    return 0;
}

static void watcher_set_fd(ui *u, int fd)
{
    if (u->mode != WAIT_SDL || fd == u->last_fd)
        return;
    u->last_fd = fd;
    SDL_AtomicSet(&u->watch_fd, fd);
    if (write(u->wake_pipe[1], "w", 1) < 0)
        QMS_DEBUG("watcher wake: %s", strerror(errno));
}

static int watcher_start(ui *u)
{
    if (pipe(u->wake_pipe))
        return -1;
    u->serviced = SDL_CreateSemaphore(0);
    u->ev_net = SDL_RegisterEvents(1);
    SDL_AtomicSet(&u->watch_fd, -1);
    u->last_fd = -1;
    u->watcher = SDL_CreateThread(watcher_main, "kiosk-net-watch", u);
    return u->watcher && u->serviced && u->ev_net != (Uint32)-1 ? 0 : -1;
}

static void watcher_stop(ui *u)
{
    if (!u->watcher)
        return;
    SDL_AtomicSet(&u->quit, 1);
    if (write(u->wake_pipe[1], "q", 1) < 0)
        QMS_DEBUG("watcher stop: %s", strerror(errno));
    SDL_SemPost(u->serviced);
    SDL_WaitThread(u->watcher, NULL);
    SDL_DestroySemaphore(u->serviced);
    close(u->wake_pipe[0]);
    close(u->wake_pipe[1]);
    u->watcher = NULL;
}

/* Wait up to ms for an SDL event (returned in ev, 1) or broker traffic (0). */
static int wait_event(ui *u, int ms, SDL_Event *ev)
{
    if (SDL_PollEvent(ev))
        return 1;
    if (ms <= 0)
        return 0;
    if (u->mode == WAIT_SDL) {
        watcher_set_fd(u, kiosk_app_socket(u->app));
        return SDL_WaitEventTimeout(ev, ms) ? 1 : 0;
    }
    int fd = kiosk_app_socket(u->app);
    int slice = u->mode == WAIT_TICK && ms > INPUT_TICK_MS ? INPUT_TICK_MS : ms;
    struct pollfd p = {fd, POLLIN, 0};
    poll(&p, fd >= 0 ? 1 : 0, slice);
    return SDL_PollEvent(ev);
}

/* ---- input -------------------------------------------------------------- */

static int handle_event(ui *u, const SDL_Event *ev)
{
    int x, y;
    if (u->mode == WAIT_SDL && ev->type == u->ev_net) {
        /* the watcher saw broker traffic: read it, then let it watch again
         * (it waits for this, however the event reached us) */
        kiosk_app_tick(u->app);
        SDL_SemPost(u->serviced);
        return 0;
    }
    switch (ev->type) {
    case SDL_QUIT:
        return 1;
    case SDL_MOUSEBUTTONDOWN:
        if (ev->button.which == SDL_TOUCH_MOUSEID || ev->button.button != SDL_BUTTON_LEFT)
            break;
        to_logical(u, (float)ev->button.x, (float)ev->button.y, &x, &y);
        kiosk_app_press(u->app, x, y);
        break;
    case SDL_MOUSEBUTTONUP:
        if (ev->button.which == SDL_TOUCH_MOUSEID || ev->button.button != SDL_BUTTON_LEFT)
            break;
        to_logical(u, (float)ev->button.x, (float)ev->button.y, &x, &y);
        kiosk_app_release(u->app, x, y);
        break;
    case SDL_FINGERDOWN:
    case SDL_FINGERUP:
        /* fingers report 0..1 of the touch device, which spans the window */
        to_logical(u, ev->tfinger.x * (float)u->ww, ev->tfinger.y * (float)u->wh, &x, &y);
        if (ev->type == SDL_FINGERDOWN)
            kiosk_app_press(u->app, x, y);
        else
            kiosk_app_release(u->app, x, y);
        break;
    case SDL_TEXTINPUT:
        if (u->cfg.scanner_hid)
            kiosk_app_text(u->app, ev->text.text);
        break;
    case SDL_KEYDOWN:
        if (!u->cfg.scanner_hid)
            break;
        if (ev->key.keysym.sym == SDLK_RETURN || ev->key.keysym.sym == SDLK_KP_ENTER)
            kiosk_app_enter(u->app);
        else if (ev->key.keysym.sym == SDLK_BACKSPACE)
            kiosk_app_backspace(u->app);
        break;
    case SDL_WINDOWEVENT:
        if (ev->window.event == SDL_WINDOWEVENT_SIZE_CHANGED)
            setup_sizes(u);
        if (ev->window.event == SDL_WINDOWEVENT_EXPOSED ||
            ev->window.event == SDL_WINDOWEVENT_SIZE_CHANGED)
            render(u, NULL);
        break;
    case SDL_RENDER_TARGETS_RESET:
    case SDL_RENDER_DEVICE_RESET:
        kiosk_draw_flush(u->draw);
        setup_sizes(u);
        render(u, NULL);
        break;
    default:
        break;
    }
    return 0;
}

/* ---- script ------------------------------------------------------------- */

/* Keyboard text as a USB scanner types it: one SDL text event a character
 * (UTF-8 sequences whole), then Enter. */
static void push_typed(ui *u, const char *text)
{
    SDL_Event ev;
    for (const char *p = text; *p;) {
        size_t n = 1;
        while (p[n] && ((unsigned char)p[n] & 0xC0) == 0x80)
            n++;
        memset(&ev, 0, sizeof ev);
        ev.type = SDL_TEXTINPUT;
        ev.text.windowID = SDL_GetWindowID(u->win);
        memcpy(ev.text.text, p, n < sizeof ev.text.text ? n : sizeof ev.text.text - 1);
        SDL_PushEvent(&ev);
        p += n;
    }
    memset(&ev, 0, sizeof ev);
    ev.type = SDL_KEYDOWN;
    ev.key.windowID = SDL_GetWindowID(u->win);
    ev.key.state = SDL_PRESSED;
    ev.key.keysym.sym = SDLK_RETURN;
    ev.key.keysym.scancode = SDL_SCANCODE_RETURN;
    SDL_PushEvent(&ev);
}

static void push_tap(ui *u, int lx, int ly)
{
    int wx, wy;
    to_window(u, lx, ly, &wx, &wy);
    SDL_Event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SDL_MOUSEBUTTONDOWN;
    ev.button.windowID = SDL_GetWindowID(u->win);
    ev.button.which = 0;
    ev.button.button = SDL_BUTTON_LEFT;
    ev.button.state = SDL_PRESSED;
    ev.button.clicks = 1;
    ev.button.x = wx;
    ev.button.y = wy;
    SDL_PushEvent(&ev);
    ev.type = SDL_MOUSEBUTTONUP;
    ev.button.state = SDL_RELEASED;
    SDL_PushEvent(&ev);
}

static int script_fail(ui *u, const kiosk_script_cmd *c, const char *why)
{
    fprintf(stderr, "qms-kiosk: script line %d: %s (screen: %s)\n", c->line, why,
            kiosk_app_screen_name(u->app));
    u->script_failed = 1;
    return -1;
}

static int tap_target(ui *u, const kiosk_script_cmd *c, kiosk_target_kind kind, int index)
{
    kiosk_view v;
    kiosk_app_view(u->app, &v);
    kiosk_target t = {kind, index};
    int x, y;
    if (kiosk_view_target_point(kiosk_app_layout(u->app), &v, t, &x, &y))
        return script_fail(u, c, "that target is not on the screen");
    push_tap(u, x, y);
    return 0;
}

/* Run script commands until one has to wait. Returns 1 when the script
 * ended (or failed), 0 otherwise; *wake_ms is when it wants to run again. */
static int script_step(ui *u, int *wake_ms)
{
    static const char *const classes[KIOSK_PRIO_N] = {"normal", "elderly", "disabled", "pregnant",
                                                      "child"};
    *wake_ms = WAIT_CAP_MS;
    while (u->pc < u->script.n) {
        const kiosk_script_cmd *c = &u->script.cmds[u->pc];
        int64_t now = qms_mono_ms();
        if (u->wait_until) {
            if (now < u->wait_until) {
                *wake_ms = (int)(u->wait_until - now);
                return 0;
            }
            u->wait_until = 0;
            u->pc++;
            continue;
        }
        switch (c->op) {
        case KS_TAP:
            push_tap(u, c->x, c->y);
            break;
        case KS_TAP_SERVICE: {
            int si = kiosk_app_service_index(u->app, c->arg);
            if (si < 0)
                return script_fail(u, c, "no such service in the configuration"), 1;
            if (tap_target(u, c, KTG_SERVICE, si))
                return 1;
            break;
        }
        case KS_TAP_PRIORITY: {
            int k = -1;
            for (int i = 0; i < KIOSK_PRIO_N; i++)
                if (!strcmp(c->arg, classes[i]))
                    k = i;
            if (k < 0)
                return script_fail(u, c, "unknown priority class"), 1;
            if (tap_target(u, c, KTG_PRIO, k))
                return 1;
            break;
        }
        case KS_TAP_LANG:
            if (tap_target(u, c, KTG_LANG, 0))
                return 1;
            break;
        case KS_TAP_BACK:
            if (tap_target(u, c, KTG_BACK, 0))
                return 1;
            break;
        case KS_TAP_NEXT:
            if (tap_target(u, c, KTG_NEXT, 0))
                return 1;
            break;
        case KS_TAP_PREV:
            if (tap_target(u, c, KTG_PREV, 0))
                return 1;
            break;
        case KS_TAP_CHECKIN:
            if (tap_target(u, c, KTG_CHECKIN, 0))
                return 1;
            break;
        case KS_TAP_OK:
            if (tap_target(u, c, KTG_OK, 0))
                return 1;
            break;
        case KS_TAP_KEY: {
            int k = -1;
            if (!strcmp(c->arg, "del"))
                k = KIOSK_CODE_CHARS;
            else if (strlen(c->arg) == 1 && strchr(KIOSK_CODE_ALPHABET, c->arg[0]))
                k = (int)(strchr(KIOSK_CODE_ALPHABET, c->arg[0]) - KIOSK_CODE_ALPHABET);
            if (k < 0)
                return script_fail(u, c, "not a key of the keypad"), 1;
            if (tap_target(u, c, KTG_KEY, k))
                return 1;
            break;
        }
        case KS_TYPE:
            push_typed(u, c->text);
            break;
        case KS_WAIT:
            u->wait_until = now + c->ms;
            *wake_ms = c->ms;
            return 0;
        case KS_WAIT_SCREEN:
            if (strcmp(kiosk_app_screen_name(u->app), c->arg) != 0) {
                if (!u->screen_deadline)
                    u->screen_deadline = now + c->ms;
                if (now >= u->screen_deadline) {
                    char why[96];
                    snprintf(why, sizeof why, "screen %s did not show in %d ms", c->arg, c->ms);
                    return script_fail(u, c, why), 1;
                }
                *wake_ms = 10;
                return 0;
            }
            u->screen_deadline = 0;
            break;
        case KS_WAIT_FILE: {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", u->shot_dir ? u->shot_dir : ".", c->arg);
            if (access(path, F_OK) != 0) {
                if (!u->screen_deadline)
                    u->screen_deadline = now + c->ms;
                if (now >= u->screen_deadline) {
                    char why[96];
                    snprintf(why, sizeof why, "file %s did not appear in %d ms", c->arg, c->ms);
                    return script_fail(u, c, why), 1;
                }
                *wake_ms = 10;
                return 0;
            }
            u->screen_deadline = 0;
            break;
        }
        case KS_EXPECT_SCREEN:
            if (strcmp(kiosk_app_screen_name(u->app), c->arg) != 0) {
                char why[96];
                snprintf(why, sizeof why, "expected screen %s", c->arg);
                return script_fail(u, c, why), 1;
            }
            break;
        case KS_SCREENSHOT:
            render(u, c->arg);
            break;
        case KS_QUIT:
            u->pc = u->script.n;
            return 1;
        }
        u->pc++;
        /* a tap is an event: let the loop handle it before the next command */
        if (c->op == KS_TAP || c->op == KS_TAP_SERVICE || c->op == KS_TAP_PRIORITY ||
            c->op == KS_TAP_LANG || c->op == KS_TAP_BACK || c->op == KS_TAP_NEXT ||
            c->op == KS_TAP_PREV || c->op == KS_TAP_CHECKIN || c->op == KS_TAP_KEY ||
            c->op == KS_TAP_OK || c->op == KS_TYPE) {
            *wake_ms = 0;
            return 0;
        }
    }
    return 1;
}

/* ---- main --------------------------------------------------------------- */

static enum wait_mode pick_wait_mode(void)
{
    /* QMS_KIOSK_WAIT=sdl|socket|tick forces a way (tests run the watcher
     * thread's path under the offscreen driver with it) */
    const char *force = getenv("QMS_KIOSK_WAIT");
    if (force && !strcmp(force, "sdl"))
        return WAIT_SDL;
    if (force && !strcmp(force, "socket"))
        return WAIT_SOCKET;
    if (force && !strcmp(force, "tick"))
        return WAIT_TICK;
    const char *d = SDL_GetCurrentVideoDriver();
    if (!d)
        return WAIT_TICK;
    if (!strcmp(d, "x11") || !strcmp(d, "wayland") || !strcmp(d, "windows") || !strcmp(d, "cocoa"))
        return WAIT_SDL;
    if (!strcmp(d, "offscreen") || !strcmp(d, "dummy") || !strcmp(d, "evdev"))
        return WAIT_SOCKET;
    return WAIT_TICK;
}

static int run_ui(ui *u, const char *host, int port, FILE *trace)
{
    int rc = KIOSK_EXIT_OK;
    SDL_SetHint(SDL_HINT_TOUCH_MOUSE_EVENTS, "0"); /* fingers come as finger events only */
    SDL_SetHint(SDL_HINT_VIDEO_ALLOW_SCREENSAVER, "0");
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "linear");
    if (strcmp(u->cfg.renderer, "auto") != 0)
        SDL_SetHint(SDL_HINT_RENDER_DRIVER, u->cfg.renderer); /* SDL_RENDER_DRIVER still wins */
    if (strcmp(u->cfg.renderer, "software") == 0)
        /* and present the software frame as it is, not through a GL texture */
        SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0");
    if (SDL_Init(SDL_INIT_VIDEO | SDL_INIT_EVENTS)) {
        fprintf(stderr, "qms-kiosk: SDL: %s\n", SDL_GetError());
        return KIOSK_EXIT_USAGE;
    }
    if (TTF_Init()) {
        fprintf(stderr, "qms-kiosk: SDL_ttf: %s\n", TTF_GetError());
        SDL_Quit();
        return KIOSK_EXIT_USAGE;
    }
    IMG_Init(IMG_INIT_PNG);
    u->rotate = u->cfg.rotate;
    int turned = u->rotate == 90 || u->rotate == 270;
    int win_w = turned ? u->cfg.height : u->cfg.width;
    int win_h = turned ? u->cfg.width : u->cfg.height;
    Uint32 flags = SDL_WINDOW_SHOWN | SDL_WINDOW_ALLOW_HIGHDPI;
    if (u->cfg.fullscreen)
        flags |= SDL_WINDOW_FULLSCREEN_DESKTOP;
    u->win = SDL_CreateWindow("qms-kiosk", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, win_w,
                              win_h, flags);
    if (u->win)
        u->ren = SDL_CreateRenderer(u->win, -1, SDL_RENDERER_TARGETTEXTURE);
    if (u->win && !u->ren)
        u->ren = SDL_CreateRenderer(u->win, -1, SDL_RENDERER_SOFTWARE);
    /* no clock given: the kiosk follows the controller's (its status) */
    kiosk_app_opts ao = {&u->cfg, host, port, NULL, trace};
    if (!u->win || !u->ren) {
        fprintf(stderr, "qms-kiosk: cannot open the screen: %s\n", SDL_GetError());
        rc = KIOSK_EXIT_USAGE;
    } else if (kiosk_draw_new(u->ren, u->cfg.font_dir, &u->draw)) {
        fprintf(stderr, "qms-kiosk: cannot open the Noto fonts in %s\n", u->cfg.font_dir);
        rc = KIOSK_EXIT_USAGE;
    } else if (kiosk_app_new(&ao, &u->app)) {
        fprintf(stderr, "qms-kiosk: cannot start\n");
        rc = KIOSK_EXIT_USAGE;
    }
    if (rc == KIOSK_EXIT_OK && setup_sizes(u))
        rc = KIOSK_EXIT_USAGE;
    if (rc == KIOSK_EXIT_OK) {
        if (u->cfg.fullscreen)
            SDL_ShowCursor(SDL_DISABLE);
        u->mode = pick_wait_mode();
        if (u->mode == WAIT_SDL && watcher_start(u)) {
            QMS_WARN("no watcher thread; polling instead");
            u->mode = WAIT_TICK;
        }
        SDL_RendererInfo ri;
        SDL_GetRendererInfo(u->ren, &ri);
        static const char *const modes[] = {"sdl", "socket", "tick"};
        QMS_INFO("video %s, renderer %s, %dx%d, waiting by %s", SDL_GetCurrentVideoDriver(),
                 ri.name, u->lw, u->lh, modes[u->mode]);
        kiosk_app_set_present(u->app, present_now, u);
        if (u->cfg.scanner_hid)
            SDL_StartTextInput(); /* a USB scanner types its codes as a keyboard */
        else
            SDL_StopTextInput();
        int scripted = u->script.n > 0;
        for (;;) {
            kiosk_app_tick(u->app);
            int script_wake = WAIT_CAP_MS;
            if (scripted && script_step(u, &script_wake))
                break;
            if (kiosk_app_dirty(u->app))
                render(u, NULL);
            int ms = kiosk_app_wait_ms(u->app, WAIT_CAP_MS);
            if (script_wake < ms)
                ms = script_wake;
            SDL_Event ev;
            int quit = 0;
            if (wait_event(u, ms, &ev)) {
                quit = handle_event(u, &ev);
                while (!quit && SDL_PollEvent(&ev))
                    quit = handle_event(u, &ev);
            }
            if (quit)
                break;
        }
        if (u->script_failed)
            rc = KIOSK_EXIT_USAGE;
        QMS_INFO("%d frames drawn", u->frames);
    }
    watcher_stop(u);
    kiosk_app_free(u->app);
    kiosk_draw_free(u->draw);
    if (u->target)
        SDL_DestroyTexture(u->target);
    if (u->ren)
        SDL_DestroyRenderer(u->ren);
    if (u->win)
        SDL_DestroyWindow(u->win);
    IMG_Quit();
    TTF_Quit();
    SDL_Quit();
    return rc;
}

int main(int argc, char **argv)
{
    enum {
        O_CONFIG = 256,
        O_PRINTER,
        O_SITE,
        O_KIOSK,
        O_PORTRAIT,
        O_WIDTH,
        O_HEIGHT,
        O_DIAG,
        O_ROTATE,
        O_FULL,
        O_LANG,
        O_QR,
        O_IDLE,
        O_TAKE,
        O_PRIO,
        O_SCRIPT,
        O_SHOTS,
        O_TRACE,
        O_LOG,
        O_STATE,
        O_HELP
    };
    static const struct option longopts[] = {
        {"config", required_argument, 0, O_CONFIG},
        {"printer", required_argument, 0, O_PRINTER},
        {"site", required_argument, 0, O_SITE},
        {"kiosk-id", required_argument, 0, O_KIOSK},
        {"portrait", no_argument, 0, O_PORTRAIT},
        {"width", required_argument, 0, O_WIDTH},
        {"height", required_argument, 0, O_HEIGHT},
        {"diagonal", required_argument, 0, O_DIAG},
        {"rotate", required_argument, 0, O_ROTATE},
        {"fullscreen", no_argument, 0, O_FULL},
        {"lang", required_argument, 0, O_LANG},
        {"qr-base", required_argument, 0, O_QR},
        {"idle-timeout", required_argument, 0, O_IDLE},
        {"take", required_argument, 0, O_TAKE},
        {"priority", required_argument, 0, O_PRIO},
        {"script", required_argument, 0, O_SCRIPT},
        {"screenshot-dir", required_argument, 0, O_SHOTS},
        {"trace", required_argument, 0, O_TRACE},
        {"log-level", required_argument, 0, O_LOG},
        {"state-file", required_argument, 0, O_STATE},
        {"help", no_argument, 0, O_HELP},
        QMS_CONN_LONGOPTS,
        {0, 0, 0, 0},
    };
    const char *config = NULL, *take = NULL, *prio = NULL;
    static qms_conn cli;
    qms_conn_init(&cli);
    char cerr[600];
    const char *script = NULL, *shots = NULL, *trace_path = NULL;
    const char *o_state = NULL;
    const char *o_printer = NULL, *o_site = NULL, *o_kiosk = NULL, *o_lang = NULL, *o_qr = NULL;
    int o_portrait = 0, o_w = 0, o_h = 0, o_rot = -1, o_full = 0, o_idle = 0;
    double o_diag = 0;
    int level = QMS_LOG_WARN;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c >= QMS_CONN_OPT_BASE && c < QMS_CONN_OPT_END) {
            if (qms_conn_getopt(&cli, c, optarg, cerr, sizeof cerr)) {
                fprintf(stderr, "qms-kiosk: %s\n", cerr);
                return KIOSK_EXIT_USAGE;
            }
            continue;
        }
        switch (c) {
        case O_CONFIG:
            config = optarg;
            break;
        case O_PRINTER:
            o_printer = optarg;
            break;
        case O_SITE:
            o_site = optarg;
            break;
        case O_KIOSK:
            o_kiosk = optarg;
            break;
        case O_PORTRAIT:
            o_portrait = 1;
            break;
        case O_FULL:
            o_full = 1;
            break;
        case O_LANG:
            o_lang = optarg;
            break;
        case O_QR:
            o_qr = optarg;
            break;
        case O_TAKE:
            take = optarg;
            break;
        case O_PRIO:
            prio = optarg;
            break;
        case O_SCRIPT:
            script = optarg;
            break;
        case O_SHOTS:
            shots = optarg;
            break;
        case O_TRACE:
            trace_path = optarg;
            break;
        case O_STATE:
            o_state = optarg;
            break;
        case O_WIDTH:
        case O_HEIGHT:
        case O_ROTATE:
        case O_IDLE: {
            int v;
            int bad = c == O_ROTATE ? parse_int(optarg, 0, 270, &v) || v % 90
                                    : parse_int(optarg, c == O_IDLE ? 3 : 200, 16384, &v);
            if (bad) {
                fprintf(stderr, "qms-kiosk: bad value \"%s\" for --%s\n", optarg,
                        longopts[c - O_CONFIG].name);
                return KIOSK_EXIT_USAGE;
            }
            if (c == O_WIDTH)
                o_w = v;
            else if (c == O_HEIGHT)
                o_h = v;
            else if (c == O_ROTATE)
                o_rot = v;
            else
                o_idle = v;
            break;
        }
        case O_DIAG: {
            char *end;
            o_diag = strtod(optarg, &end);
            if (*end || !(o_diag >= 3 && o_diag <= 200)) {
                fprintf(stderr, "qms-kiosk: --diagonal must be inches from 3 to 200\n");
                return KIOSK_EXIT_USAGE;
            }
            break;
        }
        case O_LOG:
            level = !strcmp(optarg, "debug")   ? QMS_LOG_DEBUG
                    : !strcmp(optarg, "info")  ? QMS_LOG_INFO
                    : !strcmp(optarg, "error") ? QMS_LOG_ERROR
                                               : QMS_LOG_WARN;
            break;
        case O_HELP:
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return KIOSK_EXIT_USAGE;
        }
    }
    if (optind < argc || !config) {
        fprintf(stderr, "qms-kiosk: %s\n", config ? "unexpected argument" : "--config is required");
        usage(stderr);
        return KIOSK_EXIT_USAGE;
    }
    qms_log_init("qms-kiosk", level);
    ui *u = calloc(1, sizeof *u);
    if (!u)
        return KIOSK_EXIT_USAGE;
    kiosk_config *cfg = &u->cfg;
    kiosk_config_defaults(cfg);
    char err[512];
    if (kiosk_config_load(config, cfg, err, sizeof err)) {
        fprintf(stderr, "qms-kiosk: %s\n", err);
        free(u);
        return KIOSK_EXIT_USAGE;
    }
#define SETS(dst, src)                                                                             \
    do {                                                                                           \
        if ((src) && strlen(src) >= sizeof(dst)) {                                                 \
            fprintf(stderr, "qms-kiosk: \"%s\" is too long\n", src);                               \
            free(u);                                                                               \
            return KIOSK_EXIT_USAGE;                                                               \
        }                                                                                          \
        if (src)                                                                                   \
            snprintf(dst, sizeof(dst), "%s", src);                                                 \
    } while (0)
    SETS(cfg->printer, o_printer);
    SETS(cfg->site, o_site);
    SETS(cfg->kiosk_id, o_kiosk);
    SETS(cfg->lang, o_lang);
    SETS(cfg->qr_base, o_qr);
    SETS(cfg->state_file, o_state);
#undef SETS
    if (o_w)
        cfg->width = o_w;
    if (o_h)
        cfg->height = o_h;
    if (o_diag > 0)
        cfg->diagonal_in = o_diag;
    if (o_rot >= 0)
        cfg->rotate = o_rot;
    if (o_full)
        cfg->fullscreen = 1;
    if (o_portrait)
        cfg->portrait = 1;
    if (o_idle)
        cfg->idle_timeout_s = o_idle;
    if (cfg->portrait && cfg->width > cfg->height) {
        int t = cfg->width;
        cfg->width = cfg->height;
        cfg->height = t;
    }
    if (kiosk_config_check(cfg, err, sizeof err)) {
        fprintf(stderr, "qms-kiosk: %s\n", err);
        free(u);
        return KIOSK_EXIT_USAGE;
    }
    if (resolve_state_file(cfg, config, o_state != NULL)) {
        fprintf(stderr, "qms-kiosk: the state file path is too long\n");
        free(u);
        return KIOSK_EXIT_USAGE;
    }
    if (!cfg->printer[0]) {
        fprintf(stderr, "qms-kiosk: no printer: give --printer PATH or printer.device\n");
        free(u);
        return KIOSK_EXIT_USAGE;
    }
    static const char *const classes[] = {"elderly", "disabled", "pregnant", "child"};
    if (prio) {
        int ok = 0;
        for (int i = 0; i < 4; i++)
            ok |= !strcmp(prio, classes[i]);
        if (!ok || !take) {
            fprintf(stderr, "qms-kiosk: --priority needs --take and one of elderly, disabled, "
                            "pregnant, child\n");
            free(u);
            return KIOSK_EXIT_USAGE;
        }
    }
    if (qms_conn_resolve(&cfg->conn, &cli, cerr, sizeof cerr)) {
        fprintf(stderr, "qms-kiosk: %s\n", cerr);
        free(u);
        return KIOSK_EXIT_USAGE;
    }
    /* a client file knows the site and this kiosk's id (the broker's ACL
     * lets it publish only that kiosk's status) */
    if ((cfg->conn.set & QMS_CONN_SITE) && !o_site)
        snprintf(cfg->site, sizeof cfg->site, "%s", cfg->conn.site);
    if ((cfg->conn.set & QMS_CONN_ID) && !o_kiosk)
        snprintf(cfg->kiosk_id, sizeof cfg->kiosk_id, "%s", cfg->conn.device_id);
    qms_mqtt_opts mo = {0};
    qms_conn_apply(&cfg->conn, &mo);
    const char *host = mo.host;
    int port = mo.port;
    if (qms_mqtt_lib_init()) {
        free(u);
        return KIOSK_EXIT_NETWORK;
    }
    int rc;
    if (take) {
        rc = kiosk_take_main(cfg, host, port, take, prio);
    } else {
        FILE *trace = NULL;
        if (script && kiosk_script_load(script, &u->script, err, sizeof err)) {
            fprintf(stderr, "qms-kiosk: %s: %s\n", script, err);
            rc = KIOSK_EXIT_USAGE;
        } else if (shots && mkdir(shots, 0755) && errno != EEXIST) {
            fprintf(stderr, "qms-kiosk: cannot make %s: %s\n", shots, strerror(errno));
            rc = KIOSK_EXIT_USAGE;
        } else if (trace_path && !(trace = fopen(trace_path, "a"))) {
            fprintf(stderr, "qms-kiosk: cannot open %s: %s\n", trace_path, strerror(errno));
            rc = KIOSK_EXIT_USAGE;
        } else {
            u->shot_dir = shots;
            rc = run_ui(u, host, port, trace);
        }
        if (trace)
            fclose(trace);
        kiosk_script_free(&u->script);
    }
    qms_mqtt_lib_cleanup();
    free(u);
    return rc;
}
