#include "kiosk_view.h"

#include <stddef.h>

int kiosk_fault_blocking(kiosk_fault f)
{
    switch (f) {
    case KF_PAPER_OUT:
    case KF_COVER_OPEN:
    case KF_PRINTER_OFFLINE:
    case KF_BROKER:
    case KF_CONTROLLER:
    case KF_NO_CONFIG:
        return 1;
    default:
        return 0;
    }
}

const char *kiosk_view_name(kiosk_screen s, kiosk_fault f)
{
    switch (s) {
    case KV_STARTING:
        return "starting";
    case KV_IDLE:
        return "idle";
    case KV_MENU:
        return "menu";
    case KV_PRIORITY:
        return "priority";
    case KV_BUSY:
        return "busy";
    case KV_TICKET:
        return "ticket";
    case KV_CHECKIN:
        return "checkin";
    case KV_CLOSED:
        return "closed";
    case KV_FAULT:
        break;
    }
    switch (f) {
    case KF_PAPER_OUT:
        return "paper_out";
    case KF_COVER_OPEN:
        return "cover_open";
    case KF_PRINTER_OFFLINE:
        return "printer_offline";
    case KF_BROKER:
        return "broker_down";
    case KF_CONTROLLER:
        return "controller_down";
    case KF_NO_CONFIG:
        return "no_config";
    case KF_CLOSED:
        return "service_closed";
    case KF_CAP:
        return "cap_reached";
    case KF_TAKE_FAILED:
        return "take_failed";
    case KF_APPT:
        return "appt_refused";
    case KF_NONE:
        break;
    }
    return "fault";
}

static kiosk_target tg(kiosk_target_kind k, int i)
{
    kiosk_target t = {k, i};
    return t;
}

/* The targets a screen has, in hit-test order (first match wins). */
static int screen_targets(const kiosk_layout *l, const kiosk_view *v, kiosk_target *t,
                          const kiosk_rect **r, int max)
{
    int n = 0;
#define ADD(kind, idx, rectp)                                                                      \
    do {                                                                                           \
        if (n < max) {                                                                             \
            t[n] = tg(kind, idx);                                                                  \
            r[n] = rectp;                                                                          \
            n++;                                                                                   \
        }                                                                                          \
    } while (0)
    static const kiosk_rect everywhere = {0, 0, 1 << 20, 1 << 20};
    switch (v->screen) {
    case KV_IDLE:
        ADD(KTG_LANG, 0, &l->lang);
        ADD(KTG_CHECKIN, 0, &l->checkin);
        ADD(KTG_START, 0, &everywhere);
        break;
    case KV_CHECKIN:
        ADD(KTG_LANG, 0, &l->lang);
        ADD(KTG_BACK, 0, &l->back);
        ADD(KTG_OK, 0, &l->ok);
        for (int i = 0; i < KIOSK_KEYS; i++)
            ADD(KTG_KEY, i, &l->keys[i]);
        break;
    case KV_CLOSED:
        ADD(KTG_LANG, 0, &l->lang);
        break;
    case KV_MENU: {
        ADD(KTG_LANG, 0, &l->lang);
        ADD(KTG_BACK, 0, &l->back);
        if (l->pages > 1 && v->page > 0)
            ADD(KTG_PREV, 0, &l->prev);
        if (l->pages > 1 && v->page + 1 < l->pages)
            ADD(KTG_NEXT, 0, &l->next);
        int first = v->page * l->per_page;
        for (int i = 0; i < l->per_page && first + i < v->nservices; i++)
            ADD(KTG_SERVICE, first + i, &l->tiles[i]);
        break;
    }
    case KV_PRIORITY:
        ADD(KTG_LANG, 0, &l->lang);
        ADD(KTG_BACK, 0, &l->back);
        for (int i = 0; i < KIOSK_PRIO_N; i++)
            ADD(KTG_PRIO, i, &l->prio[i]);
        break;
    case KV_TICKET:
        ADD(KTG_DISMISS, 0, &everywhere);
        break;
    case KV_FAULT:
        ADD(KTG_LANG, 0, &l->lang);
        if (!kiosk_fault_blocking(v->fault))
            ADD(KTG_DISMISS, 0, &everywhere);
        break;
    case KV_STARTING:
    case KV_BUSY:
        break;
    }
#undef ADD
    return n;
}

kiosk_target kiosk_view_hit(const kiosk_layout *l, const kiosk_view *v, int x, int y)
{
    kiosk_target t[80];
    const kiosk_rect *r[80];
    int n = screen_targets(l, v, t, r, 80);
    for (int i = 0; i < n; i++)
        if (kiosk_rect_hit(r[i], x, y))
            return t[i];
    return tg(KTG_NONE, 0);
}

int kiosk_view_target_point(const kiosk_layout *l, const kiosk_view *v, kiosk_target want, int *x,
                            int *y)
{
    kiosk_target t[80];
    const kiosk_rect *r[80];
    int n = screen_targets(l, v, t, r, 80);
    for (int i = 0; i < n; i++) {
        if (t[i].kind != want.kind || t[i].index != want.index)
            continue;
        if (r[i]->w >= (1 << 20)) { /* anywhere: the middle of the screen */
            *x = l->w / 2;
            *y = l->h / 2;
        } else {
            *x = r[i]->x + r[i]->w / 2;
            *y = r[i]->y + r[i]->h / 2;
        }
        /* the point must hit this very target (nothing above it) */
        kiosk_target h = kiosk_view_hit(l, v, *x, *y);
        return (h.kind == want.kind && h.index == want.index) ? 0 : -1;
    }
    return -1;
}
