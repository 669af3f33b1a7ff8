/*
 * common/lsn.c
 *     Printing and parsing WAL positions.
 *
 * Parsing accepts exactly what pg_lsn_in() accepts, so an LSN that
 * PostgreSQL printed or will accept round-trips, and anything else (signs,
 * spaces, "0x", a ninth digit) is refused rather than half-read.
 */
#include "common/lsn.h"

#include <stdio.h>

#define LSN_MAX_HALF_DIGITS 8

char *
lsn_format(uint64_t lsn, char *buf)
{
    (void) snprintf(buf, LSN_BUFSIZE, LSN_FMT, LSN_ARGS(lsn));
    return buf;
}

/* Reads 1 to 8 hex digits at *text into *half; advances *text past them. */
static int
s_parse_half(const char **text, uint32_t *half)
{
    const char *p = *text;
    uint32_t value = 0;
    int digits = 0;

    for (;; p++, digits++)
    {
        int digit = 0;
        if (*p >= '0' && *p <= '9')
        {
            digit = *p - '0';
        }
        else if (*p >= 'a' && *p <= 'f')
        {
            digit = *p - 'a' + 10;
        }
        else if (*p >= 'A' && *p <= 'F')
        {
            digit = *p - 'A' + 10;
        }
        else
        {
            break;
        }
        if (digits == LSN_MAX_HALF_DIGITS)
        {
            return -1;
        }
        value = value << 4 | (uint32_t) digit;
    }
    if (digits == 0)
    {
        return -1;
    }
    *text = p;
    *half = value;
    return 0;
}

int
lsn_parse(const char *text, uint64_t *lsn)
{
    uint32_t hi = 0;
    uint32_t lo = 0;

    if (s_parse_half(&text, &hi) != 0 || *text++ != '/' ||
        s_parse_half(&text, &lo) != 0 || *text != '\0')
    {
        return -1;
    }
    *lsn = (uint64_t) hi << 32 | lo;
    return 0;
}
