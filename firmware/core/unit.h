/* A unit on the bus: its registers, its key FIFO, what it shows.
 * Pure logic (no HAL): the host tests drive it directly. All state of a
 * unit lives in one struct fw_unit. */
#ifndef QMS_FW_UNIT_H
#define QMS_FW_UNIT_H
#include <stdint.h>

#include "hal.h"
#include "mb_rtu.h"
#include "regs.h"

#define FW_HALL_W 192u                        /* dots per row */
#define FW_HALL_LINE_H 16u                    /* dots per text line */
#define FW_HALL_H (FW_HALL_LINE_H * QMS_LINES) /* 64 */
#define FW_VIEW_TEXT 168u                     /* the panel text, bytes */

struct fw_entry {
    uint16_t seq, key, arg, tag; /* as QMS_FIFO_* */
};

/* What the unit shows right now. */
struct fw_view {
    uint8_t kind;             /* QMS_KIND_* */
    uint8_t blink_on;         /* 0 during the dark half of a blink */
    uint8_t blinking;         /* a blink is running */
    uint8_t rating_levels;    /* rating keys lit: 3..5; 0 = dark */
    char line0[QMS_LINE_BYTES + 1]; /* line 0 as text (the 7-segment digits) */
    char text[FW_VIEW_TEXT];  /* the whole view as one line of UTF-8 */
};

struct fw_unit {
    uint8_t kind, addr;
    uint16_t ir[QMS_IR_COUNT]; /* input registers, filled on each read */
    uint16_t hr[QMS_HR_COUNT]; /* holding registers */
    struct mb_map map;         /* the two arrays above, as the server sees them */
    struct mb_stats stats;     /* line error counters */
    uint16_t wdt_resets;
    struct fw_entry fifo[QMS_FIFO_DEPTH]; /* ring, fifo_head = the oldest */
    uint8_t fifo_head, fifo_count;
    uint16_t last_seq, last_ack, dropped;
    uint16_t typed;        /* number typed on the keypad */
    uint8_t typed_digits;  /* 0 = nothing typed */
    uint32_t now_ms;       /* time of the last fw_unit_tick */
    uint32_t uptime_ms_lo; /* ms into the current uptime second */
    uint32_t uptime_s;
    uint32_t blink_end_ms; /* valid while blinking */
    uint8_t blinking;
    uint8_t lines_changed; /* lines written since the last view */
    uint8_t frame[FW_HALL_H][FW_HALL_W / 8]; /* hall board dots, MSB = left */
};

void fw_unit_init(struct fw_unit *u, const struct fw_config *cfg, uint32_t now_ms);
/* Advances the unit's clock (uptime, blink). */
void fw_unit_tick(struct fw_unit *u, uint32_t now_ms);
/* One debounced press of key FW_KEY_*. */
void fw_unit_press(struct fw_unit *u, int key);
/* Fills v with what the unit shows now; returns 1 when v->text differs
 * from what it was given. Renders the hall frame when lines changed. */
int fw_unit_view(struct fw_unit *u, struct fw_view *v);

/* Hall board: renders the UTF-8 text s (up to n bytes) on text line row
 * (0..3) of the frame. Returns the dots used in width. */
unsigned fw_hall_render_line(struct fw_unit *u, unsigned row, const char *s, unsigned n);
/* Writes the frame row y (0..FW_HALL_H-1) as '#' and '.' to out (FW_HALL_W+1). */
void fw_hall_row_text(const struct fw_unit *u, unsigned y, char *out);

/* Decodes one UTF-8 character of s[0..n); returns its length (0 = invalid
 * or incomplete) and the code point through OUT: cp. */
unsigned fw_utf8_next(const char *s, unsigned n, uint32_t *cp);

#endif
