/* What the kiosk shows, as plain data: which screen, in which language,
 * with which texts. The app fills a kiosk_view; kiosk_draw turns it into
 * pixels; kiosk_view_hit turns a touch into a target. No SDL here. */
#ifndef QMS_KIOSK_VIEW_H
#define QMS_KIOSK_VIEW_H

#include "kiosk_layout.h"

typedef enum {
    KV_STARTING, /* before the broker, controller and config are known */
    KV_IDLE,     /* welcome: center name, date, clock */
    KV_MENU,     /* service grid */
    KV_PRIORITY, /* priority class choice */
    KV_BUSY,     /* taking and printing */
    KV_TICKET,   /* "please take your ticket" */
    KV_FAULT,    /* a fault or a refusal, see kiosk_fault */
    KV_CHECKIN,  /* booking code keypad (and "scan your QR / CCCD card") */
    KV_CLOSED,   /* nothing issues again today: when it opens next */
} kiosk_screen;

typedef enum {
    KF_NONE,
    /* blocking: the kiosk gives no numbers until they clear by themselves */
    KF_PAPER_OUT,
    KF_COVER_OPEN,
    KF_PRINTER_OFFLINE,
    KF_BROKER,
    KF_CONTROLLER,
    KF_NO_CONFIG,
    /* notices about one request: back to the menu after a while */
    KF_CLOSED,
    KF_CAP,
    KF_TAKE_FAILED,
    KF_APPT, /* a check-in refused: view.appt_code says why */
} kiosk_fault;

/* Faults that stop the whole kiosk (as opposed to one refused request). */
int kiosk_fault_blocking(kiosk_fault f);

typedef enum {
    KTG_NONE,
    KTG_LANG,
    KTG_BACK,
    KTG_PREV,
    KTG_NEXT,
    KTG_START,   /* welcome screen: anywhere */
    KTG_SERVICE, /* index = service index in the config */
    KTG_PRIO,    /* index = 0 normal, 1 elderly, 2 disabled, 3 pregnant, 4 child */
    KTG_DISMISS, /* ticket screen, notices: anywhere */
    KTG_CHECKIN, /* welcome screen: "I have an appointment" */
    KTG_KEY,     /* check-in keypad: index into KIOSK_CODE_ALPHABET, KIOSK_CODE_CHARS = delete */
    KTG_OK,      /* check-in: send the code */
} kiosk_target_kind;

typedef struct kiosk_target {
    kiosk_target_kind kind;
    int index;
} kiosk_target;

#define KIOSK_VIEW_MAX_SERVICES 64

typedef struct kiosk_view {
    kiosk_screen screen;
    kiosk_fault fault;
    const char *lang;        /* "vi" / "en" */
    const char *center_name; /* in lang; may be "" before the config arrives */
    const char *kiosk_id;
    char clock[8]; /* "08:15" (welcome screen) */
    char date[64]; /* "Thứ Năm, 26/11/2026" */
    /* menu */
    int nservices;
    const char *service_names[KIOSK_VIEW_MAX_SERVICES];  /* in lang */
    const char *service_badges[KIOSK_VIEW_MAX_SERVICES]; /* "A", "1001" */
    int service_closed[KIOSK_VIEW_MAX_SERVICES];         /* 1: greyed, not issuing now */
    const char *service_notes[KIOSK_VIEW_MAX_SERVICES];  /* closed: "Mở lại lúc 13:30" */
    int page;                                            /* 0-based */
    kiosk_target pressed;                                /* drawn highlighted (finger down) */
    /* priority, busy, ticket */
    const char *chosen_service; /* name in lang */
    char number[24];            /* "A023" */
    int ahead;
    int eta_s;
    int priority; /* 1: priority ticket */
    /* fault */
    char fault_detail[160]; /* opening hours, or the cancelled number */
    char fault_next[8];     /* service closed: the next opening today, or "" */
    /* check-in */
    char code[16];       /* typed so far, formatted "ACDE-F___" */
    int code_msg;        /* 0 hint, 1 too short, 2 wrong check character, 3 unreadable scan */
    int booked;          /* ticket: a booked check-in */
    char slot[8];        /* ... its slot "09:00" */
    char appt_code[32];  /* KF_APPT: "appt_early", ... */
    char window[2][8];   /* appt_early / appt_late: the slot's window */
    int by_card;         /* the check-in was a scanned CCCD card */
    char appt_message[512]; /* KF_APPT: the controller's words (unknown codes) */
    /* closed day (KV_CLOSED) and greyed services */
    char closed_words[160]; /* "Hôm nay nghỉ, mở lại Thứ Hai 07:30" */
} kiosk_view;

/* Stable names of screens for scripts and logs: "idle", "menu", "priority",
 * "busy", "ticket", "starting", and for KV_FAULT the fault: "paper_out",
 * "cover_open", "printer_offline", "broker_down", "controller_down",
 * "no_config", "service_closed", "cap_reached", "take_failed", "appt_refused";
 * "checkin" (keypad) and "closed" (nothing issues again today). */
const char *kiosk_view_name(kiosk_screen s, kiosk_fault f);

/* The target under (x, y) on the view's screen. */
kiosk_target kiosk_view_hit(const kiosk_layout *l, const kiosk_view *v, int x, int y);

/* Where a script's tap-* command taps: the center of that target, or -1
 * when it is not on the screen now (service not on this page...). */
int kiosk_view_target_point(const kiosk_layout *l, const kiosk_view *v, kiosk_target t, int *x,
                            int *y);

#endif
