/* The kiosk's behaviour: screens, taps, timeouts, faults and the take →
 * print → (cancel) flow. It owns the network session and the printer; it
 * does not draw (kiosk_draw) and does not own the window (kiosk_main).
 *
 * Order of a take, so that no number waits in the hall unprinted:
 *   1. ask the printer (DLE EOT) — not fine: fault screen, nothing taken;
 *   2. ask the controller for a ticket (qms/<site>/ticket/take);
 *   3. print it — failed: cancel it (qms/<site>/ticket/cancel, repeated
 *      until acknowledged) and show the printer fault. */
#ifndef QMS_KIOSK_APP_H
#define QMS_KIOSK_APP_H

#include <stdio.h>

#include "kiosk_config.h"
#include "kiosk_layout.h"
#include "kiosk_view.h"
#include "qms/clock.h"

typedef struct kiosk_app kiosk_app;

typedef struct kiosk_app_opts {
    const kiosk_config *cfg;
    const char *host; /* broker */
    int port;
    const qms_clock *clock; /* clock for the date and time shown; NULL: the controller's */
    FILE *trace;            /* optional: JSON lines of tap / take / print times */
} kiosk_app_opts;

int kiosk_app_new(const kiosk_app_opts *o, kiosk_app **out);
void kiosk_app_free(kiosk_app *a);

/* Called (with ud) when the app wants the screen drawn at once, before it
 * blocks (e.g. "printing..." before a print). */
void kiosk_app_set_present(kiosk_app *a, void (*present)(void *ud), void *ud);

/* The drawing surface is w x h pixels; recomputes the layout. */
void kiosk_app_resize(kiosk_app *a, int w, int h);

/* Run the network (without waiting), timers and fault checks. */
void kiosk_app_tick(kiosk_app *a);
/* Milliseconds until the app has timed work (at most cap_ms). */
int kiosk_app_wait_ms(kiosk_app *a, int cap_ms);
/* The broker socket to wait on, -1 while disconnected. */
int kiosk_app_socket(kiosk_app *a);

/* Finger or mouse down / up at (x, y) in surface pixels. A target fires on
 * release over the same target it was pressed on. */
void kiosk_app_press(kiosk_app *a, int x, int y);
void kiosk_app_release(kiosk_app *a, int x, int y);

/* Check-in input (docs/kiosk.md "Check-in"). A scanned line (serial or
 * keyboard): a CCCD card's QR checks in with its 12-digit number only, a
 * booking code with the code; anything else opens the keypad saying it
 * could not be read. Nothing of the line is logged or kept. */
#define KIOSK_SCAN_MAX 1024
#define KIOSK_CODE_MAX 8
void kiosk_app_scan(kiosk_app *a, const char *line, size_t len);
/* Keyboard text (SDL text input), Enter, Backspace: a USB scanner types its
 * line fast and ends it with Enter (a scan anywhere); on the keypad screen
 * typed code characters also fill the code. */
void kiosk_app_text(kiosk_app *a, const char *utf8);
void kiosk_app_enter(kiosk_app *a);
void kiosk_app_backspace(kiosk_app *a);

/* Something on screen changed since the last kiosk_app_drawn(). */
int kiosk_app_dirty(const kiosk_app *a);
void kiosk_app_drawn(kiosk_app *a);

/* The current view and layout for drawing / hit testing. */
void kiosk_app_view(kiosk_app *a, kiosk_view *v);
const kiosk_layout *kiosk_app_layout(const kiosk_app *a);
/* kiosk_view_name() of what shows now. */
const char *kiosk_app_screen_name(const kiosk_app *a);

/* Index of a service code in the current configuration, -1 if unknown. */
int kiosk_app_service_index(const kiosk_app *a, const char *code);
/* Unsettled cancels / takes (for a clean shutdown and tests). */
int kiosk_app_unsettled(const kiosk_app *a);

#endif
