/* Real parts for qms-gateway's tests: the firmware image in
 * qemu-system-arm (one process per unit), each unit's bus reached through a
 * pseudo-terminal pair of the test's own (a small "wire" thread copies the
 * bytes both ways, and can flip bits on the way: noise), each unit's front
 * panel read and written by the same thread, and the real qms-gateway with
 * one --bus per unit ("line" n in the config = the n-th unit started).
 * The broker and the controller come from tests/controller/harness.h. */
#ifndef QMS_GW_HARNESS_H
#define QMS_GW_HARNESS_H

#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

typedef struct gw_qunit {
    int kind, addr;
    pid_t pid;                /* qemu-system-arm */
    char log[320];            /* its stdout/stderr */
    char bus_pty[64], panel_pty[64];
    char wire[320];           /* the gateway's end of this unit's line: a symlink to a pty */
    _Atomic int qfd;          /* QEMU's bus pty (-1 while the unit is off) */
    _Atomic int panel_fd;
    _Atomic int mfd;          /* master of the gateway's pty pair (-1 while unplugged) */
    int sfd;                  /* its slave, kept open by us too */
    _Atomic int noise;        /* flip a bit in every noise-th byte (0 = clean) */
    _Atomic int noise_dir;    /* 0 both ways, 1 only toward the unit, 2 only from it */
    _Atomic unsigned flips;
    _Atomic int stop;
    pthread_t th;
    pthread_mutex_t mu;
    char *panel; /* everything the panel printed (under mu) */
    size_t plen, pcap;
} gw_qunit;

/* The image (empty when the ARM toolchain was missing at configure time). */
const char *gw_fw_image(void);

/* Start the unit in QEMU and its wire thread. 0 = its panel said hello. */
int qu_start(gw_qunit *u, int kind, int addr, const char *dir);
/* Start n units at once (all QEMUs booting together, then each waited
 * for). 0 = every panel said hello. */
int qu_start_many(gw_qunit *u, int n, const int *kinds, const int *addrs, const char *dir);
/* Power off (SIGKILL the QEMU; the line stays, silent). */
void qu_power_off(gw_qunit *u);
/* Power on again (a new QEMU behind the same line). 0 = hello. */
int qu_power_on(gw_qunit *u, const char *dir);
void qu_stop(gw_qunit *u);
/* The "adapter" of this unit's line unplugged (its pty pair closed: the
 * gateway's reads fail), and plugged in again (a new pty behind the same
 * path). */
void qu_unplug(gw_qunit *u);
int qu_replug(gw_qunit *u);
/* Press a key on the front panel ("next", "rate4", ...). */
void qu_key(gw_qunit *u, const char *key);
/* Offset to pass to qu_wait_display for "from now on". */
size_t qu_mark(gw_qunit *u);
/* Wait until the panel printed a "display ..." line containing needle after
 * offset from. 0 = yes, -1 after ms. */
int qu_wait_display(gw_qunit *u, size_t from, const char *needle, int ms);
/* The last "display ..." line (without "display "), into out. */
void qu_last_display(gw_qunit *u, char *out, size_t cap);

/* The gateway. */
typedef struct gw_proc {
    pid_t pid;
    char log[320];
} gw_proc;
int gwp_start(gw_proc *p, const ctl_env *e, gw_qunit *units, int n, const char *extra);
int gwp_stop(gw_proc *p, int sig);
int gwp_log_count(const gw_proc *p, const char *needle);

#endif
