/* Real parts for qms-counter's tests: a mosquitto on a free loopback port,
 * the real qms-controller on a temporary store (the sample center, its clock
 * started inside opening hours), an MQTT session of the test's own for
 * taking tickets and watching events, and running qms-counter with its
 * stdout and stderr kept apart. */
#ifndef QMS_COUNTER_FIXTURE_H
#define QMS_COUNTER_FIXTURE_H

#include "fixture.h"

#include "qms/mqtt.h"

#include <sys/types.h>

#define FX_SITE "demo" /* examples/center.json */

typedef struct fx_call {
    char ticket[16];
    int counter;
    int recall;
} fx_call;

typedef struct fixture {
    qms_test_broker broker;
    char broker_addr[64]; /* "127.0.0.1:<port>" */
    char dir[256];
    char db[320];
    char ctl_log[320];
    pid_t ctl;
    qms_mqtt *m; /* the test's own client */
    fx_call calls[256];
    int ncalls;
    char counter5_status[128]; /* retained qms/demo/device/counter/5/status, as last heard */
    unsigned long seq;
    const char *clock; /* the controller's --clock; NULL = "2026-11-26T09:00:00" */
    const char *config; /* the controller's --config; NULL = examples/center.json */
} fixture;

/* Start broker and controller; 0 when the controller answers. */
int fx_start(fixture *f);
void fx_stop(fixture *f);
/* Start the controller again (after fx_ctl_kill); 0 when it answers. */
int fx_ctl_start(fixture *f);
/* Stop the controller with a signal and wait for it. */
void fx_ctl_kill(fixture *f, int sig);

/* Take a ticket of service code (priority 0/1); its label into label.
 * Returns 0 on success. */
int fx_take(fixture *f, const char *service, int priority, char label[16]);
/* Send a counter command body (JSON) and return the reply (qms_free it). */
char *fx_counter_cmd(fixture *f, int counter, const char *json);
/* Run the session for ms, collecting call events into f->calls. */
void fx_pump(fixture *f, int ms);

typedef struct fx_run {
    int status; /* exit status, 128+signal, -1 on timeout */
    char *out;  /* stdout */
    char *err;  /* stderr */
    long ms;    /* how long it ran */
} fx_run;

/* Run qms-counter with args (NULL-terminated), --broker and --site added
 * first unless no_defaults. */
void fx_counter(fixture *f, fx_run *r, int no_defaults, const char *first, ...);
void fx_run_free(fx_run *r);

#endif
