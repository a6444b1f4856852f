/* qms-counter's interactive terminal mode: single keys for the counter's
 * operations, the current ticket, the counter's waiting list and the day's
 * counts kept up to date from the controller's retained topics. Plain ANSI
 * escape sequences on a UTF-8 terminal. */
#ifndef QMS_COUNTER_TUI_H
#define QMS_COUNTER_TUI_H

#include "counter_client.h"

typedef struct counter_tui_opts {
    int in_fd;          /* the terminal to read keys from (0) */
    int out_fd;         /* and to draw on (1) */
    int lang_en;        /* English instead of Vietnamese */
    const char *broker; /* "host:port", shown when it cannot be reached */
    int has_cert;       /* a client certificate was given (to say why TLS fails) */
} counter_tui_opts;

/* Run until the clerk quits (q, Ctrl-C) or SIGTERM/SIGHUP. Returns 0, or 2
 * if in_fd is not a terminal. The terminal is restored on every way out. */
int counter_tui_run(counter_client *c, const counter_tui_opts *o);

#endif
