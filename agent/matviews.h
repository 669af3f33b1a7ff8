/*
 * agent/matviews.h
 *     Materialized views: the order in which finalize may populate them,
 *     and their refresh again at an online migration's cutover.
 *
 * A materialized view holds the result of its query when it was last
 * refreshed. pg_restore refreshes each one the source had populated,
 * after the data and the privileges (finalize does the same, from the
 * archive's entries). Online, that is the data of the snapshot; changes
 * applied through CDC leave the view as it was. At the cutover, once
 * every change is on the target, the views are refreshed again, so that
 * the target's are what a pg_restore of the source at that moment would
 * give.
 */
#ifndef PGCONVOY_AGENT_MATVIEWS_H
#define PGCONVOY_AGENT_MATVIEWS_H

#include <libpq-fe.h>
#include <stddef.h>

#include "pgconvoy.pb-c.h"

/*
 * The level of each of the n finalize items that populate a materialized
 * view (pg_dump's MATERIALIZED VIEW DATA entries), among those items: 0
 * for a view that reads none of the others, else one more than the
 * highest of those it reads. Views of one level may be refreshed at
 * once, once the levels below are. NULL if tgt could not tell (a view
 * it cannot find, say): they are then refreshed one by one, in order.
 * *max_level is the highest level.
 */
int *matviews_levels(PGconn *tgt, Pgconvoy__SchemaItem *const *items,
                     size_t n, int *max_level);

/*
 * Refreshes every populated materialized view of tgt, those others
 * depend on first. Returns 0, or -1 with res->error set, naming the view.
 */
int matviews_refresh(const Pgconvoy__Assign *a, PGconn *tgt,
                     Pgconvoy__Result *res);

#endif
