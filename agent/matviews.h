/*
 * agent/matviews.h
 *     Materialized views refreshed again at an online migration's cutover.
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

#include "pgconvoy.pb-c.h"

/*
 * Refreshes every populated materialized view of tgt, those others
 * depend on first. Returns 0, or -1 with res->error set, naming the view.
 */
int matviews_refresh(const Pgconvoy__Assign *a, PGconn *tgt,
                     Pgconvoy__Result *res);

#endif
