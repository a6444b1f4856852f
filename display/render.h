/* Drawing the hall board with SDL2 + SDL2_ttf (Noto Sans). The layout is
 * designed for 1920x1080 (or 1080x1920 portrait) and scaled to the output,
 * letterboxed when the aspect differs; fonts are opened at the scaled size
 * so text stays sharp. Every text is fitted into its box (a smaller size,
 * then an ellipsis), so nothing is ever cut off at the edge. */
#ifndef QMS_DISPLAY_RENDER_H
#define QMS_DISPLAY_RENDER_H

#include "board.h"

#include <SDL.h>
#include <stdint.h>
#include <stdio.h>

typedef struct qms_view {
    int en;                /* labels in English instead of Vietnamese */
    int portrait;          /* 1080x1920 design */
    int64_t now_ms;        /* wall clock, for the clock and for "today" */
    int broker_up;         /* 0: the broker is unreachable */
    int controller_up;     /* 0: the controller is offline or never sent its config */
    int highlight_inverse; /* blink phase: current call drawn inverted */
    const char *notice;    /* scrolling notice, NULL or "" none */
    int notice_x;          /* notice scroll offset in design pixels */
    int page;              /* which page of the services table */
    FILE *dump;            /* if set: one line per box and text drawn (tests read it) */
} qms_view;

typedef struct qms_render qms_render;

/* font_dir holds NotoSans-Regular.ttf and NotoSans-Bold.ttf. */
int qms_render_new(SDL_Renderer *r, const char *font_dir, qms_render **out);
void qms_render_free(qms_render *rd);

/* Draw one frame into the renderer's target (does not present). */
int qms_render_frame(qms_render *rd, const qms_board *b, const qms_view *v);

/* Redraw only the bottom bar (the notice moved, nothing else). Valid only
 * right after qms_render_frame on a renderer that keeps its picture between
 * presents (the software renderer does); the caller decides. */
int qms_render_footer(qms_render *rd, const qms_board *b, const qms_view *v);

/* How many pages the services table has in the view's orientation. */
int qms_render_service_pages(const qms_board *b, const qms_view *v);

/* The notice's width in design pixels (for the scroll period). */
int qms_render_notice_width(qms_render *rd, const qms_view *v);

/* The call shown as current: the newest, unless it is from before the
 * controller's current day (as its stats say); NULL if none. */
const qms_board_call *qms_render_current(const qms_board *b, int64_t now_ms);

#endif
