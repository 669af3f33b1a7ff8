/*
 * agent/copy_range.h
 *     Which rows one part of a split table holds: the condition a copy
 *     unit reads them with, chosen by the source's version.
 *
 * From PostgreSQL 14 a part is a block range (ctid >= '(a,0)' AND
 * ctid < '(b,0)'), read with a TID range scan. Before, a ctid condition
 * reads the whole table once per part, so a part is a range of the
 * table's integer primary key instead, cut in equal spans between its
 * smallest and largest value as the task's snapshot sees them: every part
 * computes the same bounds, and the first and last parts are open-ended,
 * so the parts cover every row exactly once. A table without such a key
 * is read whole by part 0, and the other parts read nothing.
 */
#ifndef PGCONVOY_AGENT_COPY_RANGE_H
#define PGCONVOY_AGENT_COPY_RANGE_H

#include <stdint.h>

#include <libpq-fe.h>

#include "pgconvoy.pb-c.h"

/*
 * The lower bound of part i of n (0 < i < n) of the keys from min to max,
 * min <= max: min plus i/n of the span, without overflow for any int64
 * pair. Part i holds the keys from its bound up to the next part's.
 */
int64_t copy_range_bound(int64_t min, int64_t max, uint32_t i, uint32_t n);

/*
 * The WHERE condition of part t->part of t->parts of the table qualified
 * ("schema"."name", quoted), read on src inside the transaction of the
 * task's snapshot (a key range's bounds are read there). Returns it
 * (allocated), or NULL with *error set.
 */
char *copy_range_where(PGconn *src, const Pgconvoy__TableRef *t,
                       const char *qualified, char **error);

#endif
