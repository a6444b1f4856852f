/* The kiosk's side of the MQTT contract (docs/protocol.md):
 * - follows the controller's retained configuration (qms/<site>/config) and
 *   its device status (qms/<site>/device/controller/+/status);
 * - takes tickets (qms/<site>/ticket/take) and reports each outcome once:
 *   a reply, a refusal, or a timeout;
 * - makes sure no number it asked for waits in the hall unprinted: a reply
 *   that arrives after the kiosk gave up is cancelled at once, a take whose
 *   outcome is unknown is asked again with the same request id (the
 *   controller answers repeats from its store) and cancelled if it made a
 *   ticket, and cancels (qms/<site>/ticket/cancel) are repeated until the
 *   controller acknowledges them;
 * - publishes the kiosk's retained device status with its printer state. */
#ifndef QMS_KIOSK_NET_H
#define QMS_KIOSK_NET_H

#include <stddef.h>
#include <stdint.h>

#include "qms/clock.h"
#include "qms/config.h"

typedef struct kiosk_net kiosk_net;
struct kiosk_journal;

/* A take's outcome. err is QMS_OK (a ticket), a refusal (QMS_ERR_CAP_REACHED,
 * QMS_ERR_OUTSIDE_HOURS, ...), QMS_ERR_TIMEOUT or QMS_ERR_UNAVAILABLE. */
typedef struct kiosk_take_reply {
    int err;
    char code[32];     /* the protocol's error code, "" on success */
    char message[512]; /* the controller's sentence for a person */
    char next_open[8]; /* outside_hours: the next opening today ("13:30"), or "" */
    char next_open_at[20]; /* outside_hours: the next opening, "YYYY-MM-DD HH:MM", or "" */
    char window[2][8];     /* appt_early / appt_late: the slot's window ("08:45","09:30") */
    int booked;            /* a booked check-in ("booked":true) */
    char slot[8];          /* ... its slot "09:00" */
    char req[72];
    char ticket[24]; /* "A023" */
    int64_t id;      /* ticket id, for cancel and the QR URL */
    char service[16];
    char name_vi[256];
    char name_en[256];
    int priority; /* priority class, 0 = normal */
    int ahead;
    int eta_s;
    int64_t taken_ms;
    char day[11]; /* "2026-11-26" */
    char token[32]; /* the ticket's status page token, "" if the controller gave none */
    char url[320];  /* the ticket page's URL from the center's ticket_url, "" if none */
} kiosk_take_reply;

/* Parse a take reply (or refusal) payload. QMS_OK with *r filled, or
 * QMS_ERR_PROTOCOL when it is not a reply we understand. */
int kiosk_take_reply_parse(const char *payload, size_t len, kiosk_take_reply *r);

/* Parse a device status payload's "state"; 1 online, 0 anything else
 * (offline, empty = retained status removed, garbage). */
int kiosk_status_online(const char *payload, size_t len);


/* The status URL for a ticket: the controller's "url" from the take reply
 * when it gave one (the center's ticket_url), else the template with {site},
 * {id}, {day}, {ticket} and {token} replaced (docs/kiosk.md); truncated to outlen. */
void kiosk_qr_url(const char *tmpl, const char *site, const kiosk_take_reply *r, char *out,
                  size_t outlen);

typedef void (*kiosk_take_cb)(void *ud, int take_id, const kiosk_take_reply *r);

typedef struct kiosk_net_opts {
    const char *host;
    int port;
    const char *site;
    const char *kiosk_id;
    int take_timeout_ms;
    kiosk_take_cb on_take;
    void *ud;
    /* optional, not owned: the journal (kiosk_journal.h). Every take is on
     * disk before it is sent, and what a previous run left open in it is
     * settled as soon as the controller is online. */
    struct kiosk_journal *journal;
    /* optional: credentials and TLS (host and port are the fields above) */
    const struct qms_conn *conn;
    /* optional, not owned: set from the controller's status ("clock"), so
     * the kiosk shows the controller's time (a demo's runs faster) */
    qms_fclock *clock;
} kiosk_net_opts;

int kiosk_net_new(const kiosk_net_opts *o, kiosk_net **out);
void kiosk_net_free(kiosk_net *n);

/* Run the network for up to timeout_ms (0 = poll), fire take outcomes,
 * resend cancels and unresolved takes when their time comes. */
void kiosk_net_poll(kiosk_net *n, int timeout_ms);
/* Milliseconds until kiosk_net_poll has timed work (a take deadline, a
 * resend, a keepalive), at most cap_ms. */
int kiosk_net_next_ms(kiosk_net *n, int cap_ms);
/* The socket to wait on (-1 while down). */
int kiosk_net_socket(kiosk_net *n);

int kiosk_net_connected(const kiosk_net *n);
/* Is a controller's device status "online"? */
int kiosk_net_controller_online(const kiosk_net *n);
/* The controller's retained configuration, or NULL before it arrived; the
 * generation changes every time a new one arrives. */
const qms_config *kiosk_net_config(const kiosk_net *n);
int kiosk_net_config_gen(const kiosk_net *n);

/* Ask for a ticket. prio: NULL or "elderly" / "disabled" / "pregnant" /
 * "child". On QMS_OK *take_id identifies the outcome, delivered exactly once
 * through on_take (reply, refusal or QMS_ERR_TIMEOUT after take_timeout_ms).
 * QMS_ERR_UNAVAILABLE when the broker is not connected (nothing sent). */
int kiosk_net_take(kiosk_net *n, const char *service, const char *prio, const char *lang,
                   int *take_id);
/* A booked citizen's check-in: a take with "appointment":code (a booking
 * code "XXXX-XXXX") or "cccd":number (12 digits, today's booking of that
 * citizen), no service. The CCCD number is sent and kept in memory only
 * for the resends; the journal on disk gets the take without it. */
int kiosk_net_checkin(kiosk_net *n, const char *code, const char *cccd, const char *lang,
                      int *take_id);
/* Cancel ticket id (reason "print_failed"): sent now and repeated until
 * the controller answers; kept in the journal until then. */
int kiosk_net_cancel(kiosk_net *n, int64_t id, const char *reason);
/* The ticket of take req (kiosk_take_reply.req) is confirmed on paper: it
 * stands, and a restart must not cancel it (written to disk now). */
int kiosk_net_printed(kiosk_net *n, const char *req);
/* Requests not yet settled: cancels not acknowledged, takes not resolved. */
int kiosk_net_unsettled(const kiosk_net *n);

/* Publish the retained device status with this printer state name. */
void kiosk_net_set_printer(kiosk_net *n, const char *printer_state);

#endif
