/* Test harness for qms-vprinter: start it with pipes on stdin/stdout, read its
 * event lines, send control lines, read the JSON of a printed page. */
#ifndef QMS_VP_HARNESS_H
#define QMS_VP_HARNESS_H

#include "fixture.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct vp_proc {
    qms_test_proc proc; /* the program on pipes (fixture.h) */
    char dev[256];      /* the pty path it printed first */
    char dir[256];      /* --out folder (a qms_test_tmpdir) */
} vp_proc;

/* Start qms-vprinter --out <tmpdir> --width <width> [extra args]; 0 on success. */
int vp_start(vp_proc *v, int width, const char *extra1, const char *extra2);
/* The next stdout line (without newline) within timeout_ms; 0 or -1. */
int vp_line(vp_proc *v, char *line, size_t n, int timeout_ms);
/* Send a control line and wait for its "state ..." answer; the state is
 * copied to state_out (may be NULL). Event lines before it are skipped
 * (tests call this between tickets). 0 or -1. */
int vp_cmd(vp_proc *v, const char *cmd, char *state_out, size_t n);
/* Wait for the next "ticket N" / "abandoned N" line: *n and *cut. 0 or -1. */
int vp_next_page(vp_proc *v, int *n, int *cut, int timeout_ms);
/* Parse DIR/<n>.json; cJSON_Delete it. */
cJSON *vp_page_json(vp_proc *v, int n);
/* SIGTERM, wait, remove the folder unless keep is set (QMS_KEEP_VP=1 too). */
void vp_stop(vp_proc *v, int keep);
/* SIGKILL without cleaning the folder (the "printer gone" test). */
void vp_kill(vp_proc *v);

#endif
