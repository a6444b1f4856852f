/* Where everything sits on the kiosk screen, computed from the screen's
 * pixel size and its physical size (pixels per millimetre), so every touch
 * target is at least min_target_mm on each side. Pure arithmetic: no SDL, so
 * tests can check every layout for target sizes, overlaps and bounds. */
#ifndef QMS_KIOSK_LAYOUT_H
#define QMS_KIOSK_LAYOUT_H

typedef struct kiosk_rect {
    int x, y, w, h;
} kiosk_rect;

#define KIOSK_PRIO_N 5 /* normal, elderly, disabled, pregnant, child */
#define KIOSK_GRID_MAX 64
/* The booking code's characters (qms/bookcode.h: no look-alikes); the
 * keypad shows them in this order, then "delete". */
#include "qms/bookcode.h"
#define KIOSK_CODE_ALPHABET QMS_BOOKCODE_ALPHABET
#define KIOSK_CODE_CHARS 23
_Static_assert(sizeof KIOSK_CODE_ALPHABET - 1 == KIOSK_CODE_CHARS, "the keypad has every code character");
#define KIOSK_KEYS (KIOSK_CODE_CHARS + 1)

typedef struct kiosk_layout {
    int w, h;          /* screen, px */
    double ppmm;       /* pixels per millimetre */
    int min_px;        /* smallest allowed target side, px */
    int margin, gap;   /* px */
    kiosk_rect header; /* top band: center name, clock on the welcome screen */
    kiosk_rect lang;   /* language toggle, inside the header */
    kiosk_rect title;  /* the screen's question / title line(s) */
    kiosk_rect body;   /* the main area */
    kiosk_rect footer; /* bottom band */
    kiosk_rect back;   /* "back", in the footer */
    kiosk_rect prev;   /* previous page, in the footer */
    kiosk_rect next;   /* next page, in the footer */
    kiosk_rect page;   /* "page 1 of 2" label between them */
    kiosk_rect info;   /* footer right of "back" when there are no pages (chosen service) */
    kiosk_rect start;  /* welcome screen: the big "touch to take a number" button */
    /* service menu */
    int nservices;
    int cols, rows, per_page, pages;
    int tile_font_px;                 /* the text size the grid was chosen for (estimate) */
    kiosk_rect tiles[KIOSK_GRID_MAX]; /* slot rects of one page, row-major */
    /* priority choice: [0] normal (large), [1..4] elderly, disabled, pregnant, child */
    kiosk_rect prio_note; /* the sentence saying who is served first */
    kiosk_rect prio[KIOSK_PRIO_N];
    /* check-in with a booking code */
    kiosk_rect checkin;  /* welcome screen: "I have an appointment", in the footer */
    kiosk_rect code_box; /* the code typed so far (in the title band) */
    kiosk_rect code_msg; /* the hint or the error under it */
    int key_cols, key_rows;
    kiosk_rect keys[KIOSK_KEYS]; /* the code's characters (KIOSK_CODE_ALPHABET order), then delete */
    kiosk_rect ok;               /* "OK", in the footer where "next page" sits */
} kiosk_layout;

/* Lay out a w x h screen of ppmm pixels per millimetre for nservices
 * services whose longest name has max_chars characters. min_target_mm is
 * the smallest target side. Returns 0, or -1 when the screen cannot hold
 * targets that big (too small a screen). */
int kiosk_layout_compute(kiosk_layout *l, int w, int h, double ppmm, double min_target_mm,
                         int nservices, int max_chars);

/* Does point (x, y) fall inside r? */
int kiosk_rect_hit(const kiosk_rect *r, int x, int y);

#endif
