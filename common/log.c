/*
 * common/log.c
 *     The log layer: level filter, one line per event, newlines folded.
 *
 * A line is written with a single write(2) so that lines of concurrent
 * threads (agent workers) never interleave.
 */
#include "common/log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static log_level_t s_level = LOG_LEVEL_INFO;
static char s_context[128];

static const char s_letters[] = {'T', 'D', 'I', 'W', 'E'};

void
log_set_context(const char *context)
{
    snprintf(s_context, sizeof s_context, "%s", context ? context : "");
}

void
log_set_level(log_level_t level)
{
    s_level = level;
}

int
log_parse_level(const char *name, log_level_t *level)
{
    static const char *const names[] = {"trace", "debug", "info", "warn",
                                        "error"};
    for (int i = 0; i < 5; i++)
    {
        if (strcasecmp(name, names[i]) == 0)
        {
            *level = (log_level_t) i;
            return 0;
        }
    }
    return -1;
}

bool
log_is_enabled(log_level_t level)
{
    return level >= s_level;
}

void
log_vwrite(log_level_t level, const char *fmt, va_list ap)
{
    char line[4096];
    size_t len = 0;
    struct timespec now;
    struct tm tm;

    if (!log_is_enabled(level))
    {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    len = strftime(line, sizeof line, "X %Y-%m-%dT%H:%M:%S", &tm);
    /* milliseconds: what ties an agent's wait to the coordinator's pass */
    len += (size_t) snprintf(line + len, sizeof line - len, ".%03dZ ",
                             (int) (now.tv_nsec / 1000000));
    line[0] = s_letters[level];
    if (s_context[0] != '\0')
    {
        len +=
            (size_t) snprintf(line + len, sizeof line - len, "%s ", s_context);
    }
    int n = vsnprintf(line + len, sizeof line - len - 1, fmt, ap);
    if (n < 0)
    {
        return;
    }
    len += (size_t) n;
    if (len > sizeof line - 2)
    {
        len = sizeof line - 2; /* truncated: still one line */
    }
    /* fold newlines: PQerrorMessage ends in \n and may span lines */
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == ' '))
    {
        len--;
    }
    for (size_t i = 0; i < len; i++)
    {
        if (line[i] == '\n' || line[i] == '\r')
        {
            line[i] = ' ';
        }
    }
    line[len++] = '\n';
    (void) !write(STDERR_FILENO, line, len);
}

void
log_write(log_level_t level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vwrite(level, fmt, ap);
    va_end(ap);
}
