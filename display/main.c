/* qms-display: the hall board. Follows the controller's retained state and
 * call events over the broker, draws the board with SDL2 and speaks each
 * call. One single-threaded loop: wait on the broker socket (bounded by the
 * next thing that must change on screen or in the audio), take SDL events,
 * redraw only when something changed. See docs/display.md. */
#include "board.h"
#include "render.h"
#include "spell.h"
#include "voice.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/config.h"
#include "qms/conn.h"
#include "qms/csv.h"
#include "qms/err.h"
#include "qms/log.h"
#include "qms/png.h"
#include "qms/mqtt.h"

#include <SDL.h>
#include <SDL_image.h>
#include <SDL_ttf.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef QMS_FONT_DIR
#define QMS_FONT_DIR "/usr/share/fonts/truetype/noto"
#endif
#ifndef QMS_VOICE_INSTALL_DIR
#define QMS_VOICE_INSTALL_DIR "/usr/share/qms/voice"
#endif
#ifndef QMS_VOICE_DIR
#define QMS_VOICE_DIR "voice"
#endif

#define BLINK_HALF_MS 500    /* blink phase length */
#define NOTICE_FRAME_MS 33   /* notice scroll frame time */
#define NOTICE_SPEED 120     /* notice scroll speed, design px per second */
#define IDLE_WAIT_MS 250     /* longest sleep: SDL events are looked at this often */
#define CONFIG_GRACE_MS 3000 /* connected this long without a config: controller down */
#define FIRST_FRAME_MS 1000  /* wait this long for the retained state before drawing */

typedef struct options {
    const char *config_path;
    qms_conn conn;     /* broker, credentials, TLS: the display file's keys ... */
    qms_conn conn_cli; /* ... under the command line's (docs/options.md) */
    int id_given;
    const char *site;
    const char *id;
    int portrait;
    int lang_en;
    const char *voice_lang;
    const char *shot_dir;
    const char *wav_dir;
    int fullscreen;
    int width, height;
    const char *voice_dirs[QMS_VOICE_DIRS];
    int nvoice_dirs;
    int repeat;
    double blink_s;
    double page_s;
    const char *notice;
    const char *font_dir;
    int mute;
    int shot_every;
    qms_read_mode read_mode;
    qms_vi_dialect dialect;
} options;

/* Everything the running display holds, in one place. */
static struct display {
    options o;
    qms_board *board;
    qms_mqtt *mqtt;
    qms_voice *voice;
    SDL_Window *win;
    SDL_Renderer *ren;
    qms_render *rd;
    char call_topic[160];
    char sync_topic[240]; /* our own echo: it returns after every retained message */
    int synced;           /* the retained state is all here since the last connect */
    int dirty;
    int broker_up;
    int64_t connected_at; /* monotonic ms of the last connect, 0 when down */
    int64_t started_at;
    int drawn;           /* a first frame was presented */
    int64_t blink_start; /* monotonic ms of the last call shown, 0 none */
    int last_phase;
    int last_minute;
    int last_page;
    int last_status; /* 0 ok, 1 broker down, 2 controller down; -1 before the first frame */
    int calls_shown;
    int shots;
    char shot_pending[256]; /* name of the PNG to save after the next frame */
    int64_t notice_t0;
    int notice_w;
    int notice_only; /* only the notice moved since the last frame */
    int software;    /* the renderer keeps its picture between presents */
} D;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: qms-display --config FILE --broker HOST:PORT [options]\n"
            "  --config FILE        center config (examples/center.json) or a display file\n"
            "                       {\"site\":..., \"display\":{...}} (docs/display.md)\n"
            "  --site S             topic root qms/S/ (default: the config's site)\n"
            "  --id ID              this display's device id (default 1)\n"
            "  --portrait           1080x1920 layout\n"
            "  --lang vi|en         language of the labels (and of the voice unless --voice-lang)\n"
            "  --voice-lang L       vi, en or vi+en\n"
            "  --voice-dir DIR      voice pack folder; repeat to layer recorded clips first\n"
            "  --repeat N           say the sentence N times (default 1)\n"
            "  --read whole|digits  read the label's number as a whole (default) or by digit\n"
            "  --dialect north|south  linh/nghìn (default) or lẻ/ngàn\n"
            "  --blink-s S          blink the current call for S seconds (default 20)\n"
            "  --notice TEXT        scrolling notice at the bottom\n"
            "  --page-s S           show each page of the waiting table S seconds (default 10)\n"
            "  --screenshot-dir DIR save a PNG after each call is shown\n"
            "  --shot-every N       ... after every Nth call only (default 1)\n"
            "  --wav-dir DIR        write a WAV for each announcement\n"
            "  --mute               do not open an audio device\n"
            "  --fullscreen         fill the screen\n"
            "  --size WxH           window size (default 1920x1080, portrait 1080x1920)\n"
            "  --font-dir DIR       where NotoSans-*.ttf are\n"
            "  --list-clips LANG    print the voice pack's clips and texts (name<TAB>text)\n"
            "%s",
            qms_conn_usage());
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The voice pack when none is given: the one installed next to this program
 * (<prefix>/bin/qms-display -> <prefix>/share/qms/voice, which also finds a
 * copy installed under a DESTDIR), then the install path it was built for,
 * then the build tree's (developers running build/bin/qms-display). */
static void default_voice_dir(char *out, size_t cap)
{
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0; /* .../bin */
            slash = strrchr(exe, '/');
            if (slash && strcmp(slash, "/bin") == 0) {
                *slash = 0;
                snprintf(out, cap, "%s/share/qms/voice", exe);
                if (is_dir(out))
                    return;
            }
        }
    }
    snprintf(out, cap, "%s", is_dir(QMS_VOICE_INSTALL_DIR) ? QMS_VOICE_INSTALL_DIR : QMS_VOICE_DIR);
}

static int list_clips(const char *lang)
{
    const char *const *names, *const *texts;
    int n = qms_spell_pack_list(lang, &names, &texts);
    for (int i = 0; i < n; i++)
        printf("%s\t%s\n", names[i], texts[i]);
    return 0;
}

/* Is s one of the given words (c may be NULL)? */
static int one_of(const char *s, const char *a, const char *b, const char *c)
{
    return strcmp(s, a) == 0 || strcmp(s, b) == 0 || (c && strcmp(s, c) == 0);
}

/* The display's own settings may sit in the config file's "display"
 * object; the command line wins over them. */
static int load_file_options(const char *path, options *o, qms_config **center, char *site,
                             size_t sitecap)
{
    char *text = NULL;
    size_t len = 0;
    int rc = qms_read_file(path, &text, &len, 4u << 20);
    if (rc) {
        fprintf(stderr, "qms-display: cannot read %s: %s\n", path, qms_err_message(rc, "en"));
        return rc;
    }
    cJSON *js = cJSON_ParseWithLength(text, len);
    if (!js || !cJSON_IsObject(js)) {
        fprintf(stderr, "qms-display: %s is not a JSON object\n", path);
        cJSON_Delete(js);
        qms_free(text);
        return QMS_ERR_INVAL;
    }
    char err[256];
    if (cJSON_GetObjectItemCaseSensitive(js, "services") &&
        qms_config_parse_json(text, len, center, err, sizeof err) != QMS_OK) {
        fprintf(stderr, "qms-display: %s: %s\n", path, err);
        cJSON_Delete(js);
        qms_free(text);
        return QMS_ERR_INVAL;
    }
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(js, "site");
    if (cJSON_IsString(s))
        snprintf(site, sitecap, "%s", s->valuestring);
    {
        char dir[512];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = 0;
        else
            snprintf(dir, sizeof dir, ".");
        if (qms_conn_from_json(&o->conn, js, dir, err, sizeof err) != QMS_OK) {
            fprintf(stderr, "qms-display: %s: %s\n", path, err);
            cJSON_Delete(js);
            qms_free(text);
            return QMS_ERR_INVAL;
        }
    }
    static char keep[8][512]; /* strings outlive the JSON tree */
    int nkeep = 0;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(js, "display");
    rc = QMS_OK;
    if (d && !cJSON_IsObject(d)) {
        fprintf(stderr, "qms-display: %s: \"display\" must be an object\n", path);
        rc = QMS_ERR_INVAL;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, d)
    {
        const char *k = it->string;
        int isstr = cJSON_IsString(it), isnum = cJSON_IsNumber(it);
        const char *sv = isstr ? it->valuestring : NULL;
        if (isstr && nkeep < 8 && strcmp(k, "voice_dir") != 0) {
            snprintf(keep[nkeep], sizeof keep[0], "%s", sv);
            sv = keep[nkeep++];
        }
        if (strcmp(k, "lang") == 0 && isstr && one_of(sv, "vi", "en", NULL))
            o->lang_en = strcmp(sv, "en") == 0;
        else if (strcmp(k, "voice_lang") == 0 && isstr && one_of(sv, "vi", "en", "vi+en"))
            o->voice_lang = sv;
        else if (strcmp(k, "notice") == 0 && isstr)
            o->notice = sv;
        else if (strcmp(k, "blink_s") == 0 && isnum && it->valuedouble >= 0 &&
                 it->valuedouble <= 3600)
            o->blink_s = it->valuedouble;
        else if (strcmp(k, "page_s") == 0 && isnum && it->valuedouble >= 1 &&
                 it->valuedouble <= 86400)
            o->page_s = it->valuedouble;
        else if (strcmp(k, "repeat") == 0 && isnum && it->valuedouble >= 1 && it->valuedouble <= 5)
            o->repeat = it->valueint;
        else if (strcmp(k, "portrait") == 0 && cJSON_IsBool(it))
            o->portrait = cJSON_IsTrue(it);
        else if (strcmp(k, "read") == 0 && isstr && one_of(sv, "whole", "digits", NULL))
            o->read_mode = strcmp(sv, "digits") == 0 ? QMS_READ_DIGITS : QMS_READ_WHOLE;
        else if (strcmp(k, "dialect") == 0 && isstr && one_of(sv, "north", "south", NULL))
            o->dialect = strcmp(sv, "south") == 0 ? QMS_VI_SOUTH : QMS_VI_NORTH;
        else if (strcmp(k, "voice_dir") == 0 && isstr && o->nvoice_dirs < QMS_VOICE_DIRS &&
                 nkeep < 8) {
            snprintf(keep[nkeep], sizeof keep[0], "%s", sv);
            o->voice_dirs[o->nvoice_dirs++] = keep[nkeep++];
        } else {
            fprintf(stderr,
                    "qms-display: %s: unknown display setting, or a wrong type or value: "
                    "\"%s\" (docs/display.md)\n",
                    path, k);
            rc = QMS_ERR_INVAL;
        }
    }
    cJSON_Delete(js);
    qms_free(text);
    return rc;
}

static int parse_args(int argc, char **argv, options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDVAL()                                                                                  \
    do {                                                                                           \
        if (!val) {                                                                                \
            fprintf(stderr, "qms-display: %s needs a value\n", a);                                 \
            return -1;                                                                             \
        }                                                                                          \
        i++;                                                                                       \
    } while (0)
        char cerr[600];
        int cr = strncmp(a, "--", 2) == 0 ? qms_conn_option(&o->conn_cli, a + 2, val, cerr,
                                                            sizeof cerr)
                                          : 0;
        if (cr < 0) {
            fprintf(stderr, "qms-display: %s\n", cerr);
            return -1;
        }
        if (cr > 0) {
            i++;
            continue;
        }
        if (strcmp(a, "--config") == 0) {
            NEEDVAL();
            o->config_path = val;
        } else if (strcmp(a, "--site") == 0) {
            NEEDVAL();
            o->site = val;
        } else if (strcmp(a, "--id") == 0) {
            NEEDVAL();
            o->id = val;
            o->id_given = 1;
        } else if (strcmp(a, "--portrait") == 0) {
            o->portrait = 1;
        } else if (strcmp(a, "--lang") == 0) {
            NEEDVAL();
            if (strcmp(val, "vi") && strcmp(val, "en")) {
                fprintf(stderr, "qms-display: --lang is vi or en\n");
                return -1;
            }
            o->lang_en = strcmp(val, "en") == 0;
        } else if (strcmp(a, "--voice-lang") == 0) {
            NEEDVAL();
            if (strcmp(val, "vi") && strcmp(val, "en") && strcmp(val, "vi+en")) {
                fprintf(stderr, "qms-display: --voice-lang is vi, en or vi+en\n");
                return -1;
            }
            o->voice_lang = val;
        } else if (strcmp(a, "--screenshot-dir") == 0) {
            NEEDVAL();
            o->shot_dir = val;
        } else if (strcmp(a, "--wav-dir") == 0) {
            NEEDVAL();
            o->wav_dir = val;
        } else if (strcmp(a, "--fullscreen") == 0) {
            o->fullscreen = 1;
        } else if (strcmp(a, "--mute") == 0) {
            o->mute = 1;
        } else if (strcmp(a, "--voice-dir") == 0) {
            NEEDVAL();
            if (o->nvoice_dirs >= QMS_VOICE_DIRS) {
                fprintf(stderr, "qms-display: at most %d --voice-dir\n", QMS_VOICE_DIRS);
                return -1;
            }
            o->voice_dirs[o->nvoice_dirs++] = val;
        } else if (strcmp(a, "--repeat") == 0) {
            NEEDVAL();
            o->repeat = atoi(val);
            if (o->repeat < 1 || o->repeat > 5) {
                fprintf(stderr, "qms-display: --repeat is 1..5\n");
                return -1;
            }
        } else if (strcmp(a, "--blink-s") == 0) {
            NEEDVAL();
            char *end;
            o->blink_s = strtod(val, &end);
            if (*end || o->blink_s < 0 || o->blink_s > 3600) {
                fprintf(stderr, "qms-display: --blink-s is 0..3600\n");
                return -1;
            }
        } else if (strcmp(a, "--shot-every") == 0) {
            NEEDVAL();
            o->shot_every = atoi(val);
            if (o->shot_every < 1) {
                fprintf(stderr, "qms-display: --shot-every is 1 or more\n");
                return -1;
            }
        } else if (strcmp(a, "--page-s") == 0) {
            NEEDVAL();
            char *end;
            o->page_s = strtod(val, &end);
            if (*end || o->page_s < 1 || o->page_s > 86400) {
                fprintf(stderr, "qms-display: --page-s is 1..86400\n");
                return -1;
            }
        } else if (strcmp(a, "--notice") == 0) {
            NEEDVAL();
            o->notice = val;
        } else if (strcmp(a, "--font-dir") == 0) {
            NEEDVAL();
            o->font_dir = val;
        } else if (strcmp(a, "--read") == 0) {
            NEEDVAL();
            if (strcmp(val, "whole") && strcmp(val, "digits")) {
                fprintf(stderr, "qms-display: --read is whole or digits\n");
                return -1;
            }
            o->read_mode = strcmp(val, "digits") == 0 ? QMS_READ_DIGITS : QMS_READ_WHOLE;
        } else if (strcmp(a, "--dialect") == 0) {
            NEEDVAL();
            if (strcmp(val, "north") && strcmp(val, "south")) {
                fprintf(stderr, "qms-display: --dialect is north or south\n");
                return -1;
            }
            o->dialect = strcmp(val, "south") == 0 ? QMS_VI_SOUTH : QMS_VI_NORTH;
        } else if (strcmp(a, "--size") == 0) {
            NEEDVAL();
            if (sscanf(val, "%dx%d", &o->width, &o->height) != 2 || o->width < 160 ||
                o->height < 120 || o->width > 8192 || o->height > 8192) {
                fprintf(stderr, "qms-display: --size is WxH\n");
                return -1;
            }
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "qms-display: unknown option %s\n", a);
            return -1;
        }
#undef NEEDVAL
    }
    return 0;
}

static int status_now(int64_t now)
{
    /* up once the retained state is in (or after a second without the echo) */
    if (!D.broker_up || (!D.synced && now - D.connected_at < FIRST_FRAME_MS))
        return 1;
    int ctl = qms_board_controller_online(D.board);
    if (ctl == 0)
        return 2;
    if (!D.board->have_config && D.connected_at && now - D.connected_at >= CONFIG_GRACE_MS)
        return 2;
    return 0;
}

static const char *status_name(int st)
{
    return st == 1 ? "broker_down" : st == 2 ? "controller_down" : "ok";
}

/* Draw, take the pending screenshot (if any), present. */
static void draw(int64_t now)
{
    int64_t wall = qms_now(&D.board->clock.clock); /* the controller's time */
    int st = status_now(now);
    qms_view v = {
        .en = D.o.lang_en,
        .portrait = D.o.portrait,
        .now_ms = wall,
        .broker_up = st != 1,
        .controller_up = st == 0,
        .highlight_inverse = D.last_phase == 0 && D.blink_start != 0,
        .notice = D.o.notice,
        .page = D.last_page,
    };
    if (D.o.notice && *D.o.notice && D.notice_w > 0) {
        int64_t period = ((int64_t)D.notice_w + 2000) * 1000 / NOTICE_SPEED;
        v.notice_x = (int)(((now - D.notice_t0) % period) * NOTICE_SPEED / 1000);
    }
    char png[1200] = "", dumpp[1300] = "", tmp[1400];
    FILE *dump = NULL;
    if (D.o.shot_dir && D.shot_pending[0]) {
        snprintf(png, sizeof png, "%s/%s.png", D.o.shot_dir, D.shot_pending);
        snprintf(dumpp, sizeof dumpp, "%s/%s.txt", D.o.shot_dir, D.shot_pending);
        snprintf(tmp, sizeof tmp, "%s.part", dumpp);
        dump = fopen(tmp, "w");
        v.dump = dump;
    }
    int64_t t0 = qms_mono_ns();
    if (D.notice_only && !D.dirty && D.software && !dump && D.drawn) {
        /* the rest of the picture is still there: redraw the bar only */
        qms_render_footer(D.rd, D.board, &v);
        SDL_RenderPresent(D.ren);
        D.notice_only = 0;
        return;
    }
    qms_render_frame(D.rd, D.board, &v);
    int64_t t1 = qms_mono_ns();
    if (dump) {
        /* the dump is in place before the PNG: who sees the PNG finds both */
        fclose(dump);
        rename(tmp, dumpp);
    }
    if (png[0]) {
        int w = 0, h = 0;
        SDL_GetRendererOutputSize(D.ren, &w, &h);
        if (qms_png_save_renderer(D.ren, w, h, png) == QMS_OK) {
            QMS_INFO("screenshot %s (frame %.1f ms, png %.1f ms)", png, (double)(t1 - t0) / 1e6,
                     (double)(qms_mono_ns() - t1) / 1e6);
        } else {
            QMS_WARN("screenshot %s failed: %s", png, SDL_GetError());
        }
        D.shot_pending[0] = 0;
    }
    SDL_RenderPresent(D.ren);
    D.dirty = 0;
    D.notice_only = 0;
    D.drawn = 1;
}

static void shoot(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void shoot(const char *fmt, ...)
{
    if (!D.o.shot_dir)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(D.shot_pending, sizeof D.shot_pending, fmt, ap);
    va_end(ap);
}

static void on_msg(void *ud, const qms_mqtt_msg *m)
{
    (void)ud;
    int64_t now = qms_mono_ms();
    if (strcmp(m->topic, D.sync_topic) == 0) {
        if (!m->retained) { /* our own status, live: see on_conn */
            D.synced = 1;
            D.dirty = 1;
        }
        return;
    }
    /* A burst of calls: each gets its own frame and screenshot. */
    if (D.shot_pending[0] && D.drawn && strcmp(m->topic, D.call_topic) == 0)
        draw(now);
    qms_board_call call;
    int rc = qms_board_handle(D.board, m->topic, m->payload, (size_t)m->len, &call);
    if (rc < 0) {
        QMS_WARN("ignored a malformed message on %s (%s)", m->topic, qms_err_code(-rc));
        return;
    }
    if (rc & QMS_BOARD_CHANGED)
        D.dirty = 1;
    if (rc & QMS_BOARD_NEW_CALL) {
        D.calls_shown++;
        D.blink_start = now;
        D.last_phase = 0;
        QMS_INFO("call %s counter %d seq %lld%s", call.ticket, call.counter, (long long)call.seq,
                 call.recall ? " (recall)" : "");
        char t[40];
        size_t i = 0;
        for (; call.ticket[i] && i + 1 < sizeof t; i++) {
            char c = call.ticket[i];
            t[i] = ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
                       ? c
                       : '_';
        }
        t[i] = 0;
        if ((D.calls_shown - 1) % D.o.shot_every == 0)
            shoot("call-%04d-%s-c%d%s", D.calls_shown, t, call.counter,
                  call.recall ? "-recall" : "");
        if (call.counter <= QMS_SPELL_MAX)
            qms_voice_enqueue(D.voice, call.ticket, call.counter, call.recall, call.seq, now);
    }
}

static void on_conn(void *ud, int connected)
{
    (void)ud;
    D.broker_up = connected;
    D.connected_at = connected ? qms_mono_ms() : 0;
    D.synced = 0;
    D.dirty = 1;
    /* The broker sends a subscription's retained messages before it handles
     * our next publish, so when the echo of the device status the session
     * publishes after its subscriptions comes back (live, not retained), the
     * picture is whole. (The status is the one topic a display may publish.) */
}

static int open_window(void)
{
    const char *drv = SDL_GetCurrentVideoDriver();
    int headless = drv && (strcmp(drv, "offscreen") == 0 || strcmp(drv, "dummy") == 0);
    if (headless) {
        /* no GPU here: software rendering, and no GL/EGL loaded at all
         * (Mesa's EGL leaks at exit and fails the ASan build otherwise) */
        SDL_SetHint(SDL_HINT_RENDER_DRIVER, "software");
        SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0");
    }
    int w = D.o.width ? D.o.width : (D.o.portrait ? 1080 : 1920);
    int h = D.o.height ? D.o.height : (D.o.portrait ? 1920 : 1080);
    Uint32 flags = SDL_WINDOW_RESIZABLE;
    if (D.o.fullscreen)
        flags |= SDL_WINDOW_FULLSCREEN_DESKTOP;
    D.win = SDL_CreateWindow("QMS — bảng gọi số", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, w,
                             h, flags);
    if (!D.win) {
        QMS_ERROR("cannot open a window: %s", SDL_GetError());
        return QMS_ERR_IO;
    }
    D.ren = SDL_CreateRenderer(D.win, -1, headless ? SDL_RENDERER_SOFTWARE : 0);
    if (!D.ren)
        D.ren = SDL_CreateRenderer(D.win, -1, SDL_RENDERER_SOFTWARE);
    if (!D.ren) {
        QMS_ERROR("cannot create a renderer: %s", SDL_GetError());
        return QMS_ERR_IO;
    }
    SDL_RendererInfo ri;
    D.software = SDL_GetRendererInfo(D.ren, &ri) == 0 && (ri.flags & SDL_RENDERER_SOFTWARE);
    if (D.o.fullscreen)
        SDL_ShowCursor(SDL_DISABLE);
    return QMS_OK;
}

static int make_dir(const char *d)
{
    if (!d)
        return QMS_OK;
    if (mkdir(d, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "qms-display: cannot create %s: %s\n", d, strerror(errno));
        return QMS_ERR_IO;
    }
    return QMS_OK;
}

/* How long the loop may sleep before something on screen or in the audio
 * must change. */
static int next_wait(int64_t now)
{
    int64_t wait = IDLE_WAIT_MS;
    int64_t blink_ms = (int64_t)(D.o.blink_s * 1000);
    if (D.blink_start && now - D.blink_start < blink_ms) {
        int64_t into = (now - D.blink_start) % BLINK_HALF_MS;
        if (BLINK_HALF_MS - into < wait)
            wait = BLINK_HALF_MS - into;
    }
    /* the next minute on the controller's clock (a demo's runs faster) */
    const qms_fclock *ck = &D.board->clock;
    int64_t wall = qms_now(&ck->clock);
    int64_t to_min = (int64_t)((double)(60000 - wall % 60000) / (ck->have ? ck->speed : 1.0)) + 1;
    if (to_min < wait)
        wait = to_min;
    if (D.o.notice && *D.o.notice && status_now(now) == 0 && wait > NOTICE_FRAME_MS)
        wait = NOTICE_FRAME_MS;
    int v = qms_voice_tick(D.voice, now);
    if (v >= 0 && v < wait)
        wait = v;
    if (D.connected_at && !D.board->have_config) {
        int64_t g = D.connected_at + CONFIG_GRACE_MS - now;
        if (g > 0 && g < wait)
            wait = g;
    }
    return wait < 1 ? 1 : (int)wait;
}

/* Has the blink phase, the minute, the page or the status moved on? */
static void update_time_state(int64_t now)
{
    int64_t blink_ms = (int64_t)(D.o.blink_s * 1000);
    int phase = 1;
    if (D.blink_start && now - D.blink_start < blink_ms)
        phase = (int)((now - D.blink_start) / BLINK_HALF_MS % 2);
    if (phase != D.last_phase) {
        D.last_phase = phase;
        D.dirty = 1;
    }
    int minute = (int)(qms_now(&D.board->clock.clock) / 60000 % 1440);
    if (minute != D.last_minute) {
        D.last_minute = minute;
        D.dirty = 1;
    }
    qms_view pv = {.portrait = D.o.portrait};
    int pages = qms_render_service_pages(D.board, &pv);
    int64_t page_ms = (int64_t)(D.o.page_s * 1000);
    int page = pages > 1 ? (int)((now - D.started_at) / page_ms % pages) : 0;
    if (page != D.last_page) {
        D.last_page = page;
        D.dirty = 1;
    }
    if (D.o.notice && *D.o.notice && status_now(now) == 0 && !D.dirty)
        D.notice_only = 1;
    if (D.drawn) {
        int st = status_now(now);
        if (st != D.last_status) {
            QMS_INFO("board status: %s", status_name(st));
            if (D.last_status >= 0 || st != 0)
                shoot("status-%02d-%s", ++D.shots, status_name(st));
            D.last_status = st;
            D.dirty = 1;
        }
    }
}

int main(int argc, char **argv)
{
    qms_log_init("qms-display", QMS_LOG_INFO);
    options *o = &D.o;
    o->blink_s = 20;
    o->page_s = 10;
    o->shot_every = 1;
    o->id = "1";
    o->repeat = 0;
    if (argc == 3 && strcmp(argv[1], "--list-clips") == 0)
        return list_clips(argv[2]);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout); /* asked for: not an error, even without --config */
            return 0;
        }
    /* the config file first, so the command line can override it */
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--config") == 0)
            o->config_path = argv[i + 1];
    if (!o->config_path) {
        usage(stderr);
        return 2;
    }
    qms_config *center = NULL;
    char site[64] = "";
    if (load_file_options(o->config_path, o, &center, site, sizeof site) != QMS_OK)
        return 2;
    int nfile_dirs = o->nvoice_dirs;
    o->nvoice_dirs = 0; /* command-line folders come first */
    const char *file_dirs[QMS_VOICE_DIRS];
    memcpy(file_dirs, o->voice_dirs, sizeof file_dirs);
    if (parse_args(argc, argv, o) != 0) {
        usage(stderr);
        qms_config_free(center);
        return 2;
    }
    for (int i = 0; i < nfile_dirs && o->nvoice_dirs < QMS_VOICE_DIRS; i++)
        o->voice_dirs[o->nvoice_dirs++] = file_dirs[i];
    static char voice_default[1100];
    if (o->nvoice_dirs == 0) {
        default_voice_dir(voice_default, sizeof voice_default);
        o->voice_dirs[o->nvoice_dirs++] = voice_default;
    }
    QMS_INFO("voice pack: %s%s", o->voice_dirs[0], o->nvoice_dirs > 1 ? " ..." : "");
    if (o->repeat < 1)
        o->repeat = 1;
    if (o->site)
        snprintf(site, sizeof site, "%s", o->site);
    char cerr[600];
    if (qms_conn_resolve(&o->conn, &o->conn_cli, cerr, sizeof cerr) != QMS_OK) {
        fprintf(stderr, "qms-display: %s\n", cerr);
        qms_config_free(center);
        return 2;
    }
    if (!(o->conn.set & QMS_CONN_HOST)) {
        fprintf(stderr, "qms-display: --broker HOST:PORT (or --client FILE) is required\n");
        qms_config_free(center);
        return 2;
    }
    /* a client file knows the site and this display's id (the broker's ACL
     * lets it publish only that display's status) */
    if ((o->conn.set & QMS_CONN_SITE) && !o->site)
        snprintf(site, sizeof site, "%s", o->conn.site);
    if ((o->conn.set & QMS_CONN_ID) && !o->id_given)
        o->id = o->conn.device_id;
    qms_mqtt_opts mo = {0};
    qms_conn_apply(&o->conn, &mo);
    const char *host = mo.host;
    int port = mo.port;
    if (!site[0]) {
        fprintf(stderr, "qms-display: no site: give --site or a config with \"site\"\n");
        qms_config_free(center);
        return 2;
    }
    if (make_dir(o->shot_dir) || make_dir(o->wav_dir)) {
        qms_config_free(center);
        return 1;
    }
    const char *fd = o->font_dir ? o->font_dir : getenv("QMS_FONT_DIR");
    if (!fd || !*fd)
        fd = QMS_FONT_DIR;

    D.board = qms_calloc(1, sizeof *D.board);
    if (!D.board)
        return 1;
    qms_board_init(D.board, site, center);
    qms_config_free(center);

    if (SDL_Init(SDL_INIT_VIDEO) != 0) {
        QMS_ERROR("SDL: %s", SDL_GetError());
        return 1;
    }
    if (open_window() != QMS_OK || qms_render_new(D.ren, fd, &D.rd) != QMS_OK)
        return 1;

    qms_voice_opts vo = {
        .ndirs = o->nvoice_dirs,
        .lang = o->voice_lang ? o->voice_lang : (o->lang_en ? "en" : "vi"),
        .dialect = o->dialect,
        .read_mode = o->read_mode,
        .repeat = o->repeat,
        .wav_dir = o->wav_dir,
        .play = !o->mute,
    };
    for (int i = 0; i < o->nvoice_dirs; i++)
        vo.dirs[i] = o->voice_dirs[i];
    if (qms_voice_new(&vo, &D.voice) != QMS_OK)
        return 1;

    qms_mqtt_lib_init();
    char client_id[128];
    snprintf(client_id, sizeof client_id, "qms-display-%s-%ld", o->id, (long)getpid());
    mo.client_id = client_id;
    mo.site = site;
    mo.device_kind = "display";
    mo.device_id = o->id;
    if (qms_mqtt_new(&mo, &D.mqtt) != QMS_OK) {
        QMS_ERROR("cannot set up the MQTT session");
        return 1;
    }
    qms_mqtt_set_callbacks(D.mqtt, on_msg, on_conn, NULL);
    static const char *const subs[] = {"config",          "call",  "calls/recent",
                                       "counter/+/state", "stats", "device/controller/+/status"};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        char t[200];
        qms_topic(t, sizeof t, site, subs[i]);
        qms_mqtt_subscribe(D.mqtt, t, 1);
    }
    qms_topic(D.call_topic, sizeof D.call_topic, site, "call");
    char sync_suffix[160];
    snprintf(sync_suffix, sizeof sync_suffix, "device/display/%s/status", o->id);
    qms_topic(D.sync_topic, sizeof D.sync_topic, site, sync_suffix);
    qms_mqtt_subscribe(D.mqtt, D.sync_topic, 1);
    char status[128];
    snprintf(status, sizeof status, "{\"state\":\"online\",\"voice\":\"%s\"}",
             qms_voice_has_pack(D.voice) ? "ok" : "silent");
    qms_mqtt_set_status(D.mqtt, status);
    QMS_INFO("site %s, broker %s:%d, %s, %s", site, host, port,
             o->portrait ? "portrait" : "landscape", o->lang_en ? "en" : "vi");

    D.started_at = qms_mono_ms();
    D.last_status = -1;
    D.last_minute = -1;
    D.last_phase = 1;
    D.notice_t0 = D.started_at;
    qms_view nv = {.notice = o->notice};
    D.notice_w = qms_render_notice_width(D.rd, &nv);
    D.dirty = 1;
    int quit = 0;
    while (!quit) {
        int64_t now = qms_mono_ms();
        qms_mqtt_loop(D.mqtt, next_wait(now));
        SDL_Event ev;
        while (SDL_PollEvent(&ev)) {
            if (ev.type == SDL_QUIT)
                quit = 1;
            else if (ev.type == SDL_WINDOWEVENT)
                D.dirty = 1;
            else if (ev.type == SDL_KEYDOWN &&
                     (ev.key.keysym.sym == SDLK_ESCAPE || ev.key.keysym.sym == SDLK_q))
                quit = 1;
        }
        now = qms_mono_ms();
        qms_voice_tick(D.voice, now);
        /* The first frame waits for the retained state (or a short time
         * when there is no broker), so it is right from the start. */
        if (!D.drawn) {
            int ready = (D.broker_up && (D.synced || now - D.connected_at >= FIRST_FRAME_MS)) ||
                        now - D.started_at >= 3 * FIRST_FRAME_MS;
            if (!ready)
                continue;
            if (!D.shot_pending[0])
                shoot("first");
        }
        update_time_state(now);
        if (D.dirty || D.shot_pending[0] || D.notice_only)
            draw(now);
        if (D.drawn && D.last_status < 0)
            D.last_status = status_now(now);
    }
    QMS_INFO("stopping");
    qms_mqtt_free(D.mqtt);
    qms_mqtt_lib_cleanup();
    qms_voice_free(D.voice);
    qms_render_free(D.rd);
    SDL_DestroyRenderer(D.ren);
    SDL_DestroyWindow(D.win);
    TTF_Quit();
    SDL_Quit();
    qms_free(D.board);
    return 0;
}
