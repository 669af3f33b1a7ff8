/*
 * common/lsn.h
 *     WAL positions (LSNs): printed as PostgreSQL 15 prints them, %X/%08X,
 *     and parsed in that form and in the older %X/%X.
 */
#ifndef PGCONVOY_LSN_H
#define PGCONVOY_LSN_H

#include <stdint.h>

/* printf(LSN_FMT, LSN_ARGS(lsn)) prints "16/B374D848" */
#define LSN_FMT "%X/%08X"
#define LSN_ARGS(lsn) (unsigned int) ((lsn) >> 32), (unsigned int) (lsn)
/* room for the longest LSN, "FFFFFFFF/FFFFFFFF", and its NUL */
#define LSN_BUFSIZE 18

/* Writes lsn into buf (LSN_BUFSIZE bytes) as LSN_FMT; returns buf. */
char *lsn_format(uint64_t lsn, char *buf);

/*
 * Parses "X/X", each half one to eight hex digits, nothing before or after
 * (pg_lsn's own syntax). Returns 0, or -1 and leaves *lsn alone.
 */
int lsn_parse(const char *text, uint64_t *lsn);

#endif
