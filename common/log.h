/*
 * common/log.h
 *     One event, one line on stderr: level letter, UTC time to the
 *     millisecond, the process's own context (role=… name=…), then the
 *     caller's key=value context and a lower-case sentence.
 */
#ifndef PGCONVOY_LOG_H
#define PGCONVOY_LOG_H

#include <stdarg.h>
#include <stdbool.h>

typedef enum
{
    LOG_LEVEL_TRACE = 0,
    LOG_LEVEL_DEBUG,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR,
} log_level_t;

/* Sets the context printed before every line, e.g. "agent=a1". Copied. */
void log_set_context(const char *context);
void log_set_level(log_level_t level);
/* Parses "trace|debug|info|warn|error"; returns -1 on anything else. */
int log_parse_level(const char *name, log_level_t *level);
bool log_is_enabled(log_level_t level);

void log_write(log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_vwrite(log_level_t level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#define log_trace(...) log_write(LOG_LEVEL_TRACE, __VA_ARGS__)
#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
