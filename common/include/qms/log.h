/* Logging: one line per event to stderr, "2026-11-26T08:01:02.123Z qms-controller W text". */
#ifndef QMS_LOG_H
#define QMS_LOG_H

enum { QMS_LOG_DEBUG = 0, QMS_LOG_INFO, QMS_LOG_WARN, QMS_LOG_ERROR };

void qms_log_init(const char *program, int min_level);
void qms_log_set_level(int min_level);
/* The current threshold: to quiet a noisy retry for a moment and restore it. */
int qms_log_level(void);
void qms_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define QMS_DEBUG(...) qms_log(QMS_LOG_DEBUG, __VA_ARGS__)
#define QMS_INFO(...) qms_log(QMS_LOG_INFO, __VA_ARGS__)
#define QMS_WARN(...) qms_log(QMS_LOG_WARN, __VA_ARGS__)
#define QMS_ERROR(...) qms_log(QMS_LOG_ERROR, __VA_ARGS__)

#endif
