/* The technician's command: qms-kiosk ... --take CODE takes one ticket for
 * CODE through the controller, prints it and exits; the same order and the
 * same no-ghost rule as a tap on the screen (docs/kiosk.md). */
#ifndef QMS_KIOSK_TAKE_H
#define QMS_KIOSK_TAKE_H

#include "kiosk_config.h"

enum {
    KIOSK_EXIT_OK = 0,
    KIOSK_EXIT_USAGE = 1,   /* bad options or configuration */
    KIOSK_EXIT_PRINTER = 2, /* printer fault: paper out, cover open, not answering */
    KIOSK_EXIT_NETWORK = 3, /* broker or controller unreachable / not answering */
    KIOSK_EXIT_REFUSED = 4, /* the controller refused: closed, cap reached, unknown service */
};

/* Returns one of the exit codes above; the reason goes to stderr, the
 * ticket ("A023 TP ...") to stdout. prio: NULL or a priority class name. */
int kiosk_take_main(const kiosk_config *cfg, const char *host, int port, const char *code,
                    const char *prio);

#endif
