#include "qms/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *prog = "qms";
static _Atomic int min_lvl = QMS_LOG_INFO; /* read by any thread that logs */

void qms_log_init(const char *program, int min_level)
{
    prog = program ? program : "qms";
    min_lvl = min_level;
}

void qms_log_set_level(int min_level)
{
    min_lvl = min_level;
}

int qms_log_level(void)
{
    return min_lvl;
}

void qms_log(int level, const char *fmt, ...)
{
    if (level < min_lvl)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[2048];
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %c ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, prog, "DIWE"[level & 3]);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* One write per line so lines of concurrent processes do not interleave. */
    size_t len = strlen(line);
    if (len + 1 < sizeof line) {
        line[len] = '\n';
        line[len + 1] = 0;
    }
    fputs(line, stderr);
}
