/* The kiosk's hold on its printer (printer/printer.h): opens the device when
 * it can, reopens it after it went away, remembers the last known state,
 * and turns a controller's reply into the ticket to print. */
#ifndef QMS_KIOSK_PRN_H
#define QMS_KIOSK_PRN_H

#include "kiosk_config.h"
#include "kiosk_net.h"
#include "printer.h"

typedef struct kiosk_prn {
    qms_printer_opts opts;
    char device[256];
    char font_dir[256];
    char nv_state[256];
    qms_printer *p;          /* NULL while the device cannot be opened */
    qms_printer_state state; /* last known */
    int64_t next_open_ms;    /* a device that cannot be opened is retried with backoff */
    int open_backoff_ms;
    int offline_told; /* the reason it is offline was logged; retries are quiet */
} kiosk_prn;

void kiosk_prn_init(kiosk_prn *k, const kiosk_config *c);
void kiosk_prn_close(kiosk_prn *k);
/* Ask the printer now (opening it if needed); returns the state, also kept
 * in k->state. A printer that does not answer is closed so the next check
 * reopens the device (a USB adapter replugged, a pty recreated). */
qms_printer_state kiosk_prn_check(kiosk_prn *k);
/* Print; QMS_OK only if the printer was fine before and after. */
int kiosk_prn_print(kiosk_prn *k, const qms_ticket_print *t);
/* Is this state one in which the kiosk may issue tickets? */
int kiosk_prn_usable(qms_printer_state s);

/* Fill the ticket to print from a reply; strings point into r, cfg and
 * url (which must outlive t). center: may be NULL. */
void kiosk_ticket_fill(qms_ticket_print *t, const kiosk_take_reply *r, const qms_config *center,
                       const char *lang, const char *url);

#endif
