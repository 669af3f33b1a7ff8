/*
 * agent/checksum.h
 *     A table's row count and content checksum, computed on the source
 *     and the target at once, for the cutover's validation.
 *
 * The checksum is order-free (the sum of each row's md5, 64 bits of it),
 * over each row's text with the session settings pinned so that both
 * servers print values alike whatever their own settings.
 */
#ifndef PGCONVOY_AGENT_CHECKSUM_H
#define PGCONVOY_AGENT_CHECKSUM_H

#include <libpq-fe.h>

#include "pgconvoy.pb-c.h"

/* Pins the settings that decide how values print. 0, or -1 with *error. */
int checksum_pin_settings(PGconn *conn, char **error);

/*
 * Counts and checksums table t on both sides at once. On 0, *on_src and
 * *on_tgt hold "N rows, checksum C" (free() them); on -1, *error says
 * which side could not, and why.
 */
int checksum_compare(PGconn *src, PGconn *tgt, const Pgconvoy__TableRef *t,
                     char **on_src, char **on_tgt, char **error);

#endif
