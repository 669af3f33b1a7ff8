/*
 * agent/copy_analyze.h
 *     Statistics gathered in the copy's own transaction: a whole table is
 *     analyzed just before its copy commits, while its pages are still in
 *     the target's cache, and the coordinator queues no ANALYZE unit for
 *     it (Result.analyzed).
 *
 * Why: on 2,000 tables of 100 rows, an ANALYZE unit a table after its
 * index builds made the migration 0.6 s longer than without statistics
 * (4.6 s against 3.9 s), twice what the statements cost: each was one
 * more unit to place, run, report and record while the builds waited
 * for the same two cores. In the copy's transaction it is one statement
 * for the group's tables and nothing more to place.
 *
 * The statistics are those an ANALYZE after the load would gather:
 * ANALYZE counts and samples the rows its own transaction wrote, and the
 * copy's transaction holds the table's whole contents. Three kinds of
 * table wait for an ANALYZE unit after their builds, as before, because
 * what is built after the load changes what ANALYZE gathers:
 *   - one with an index on expressions: ANALYZE also gathers the
 *     statistics of the expressions of the indexes that exist;
 *   - one with extended statistics (CREATE STATISTICS, which pg_dump
 *     makes after the data);
 *   - the parent of inheritance children: its statistics of the whole
 *     tree need the children loaded.
 * The prepare unit reads which from the source's catalog, with the list
 * of tables (TableRef.analyze_early), and the coordinator asks the copy
 * of each other whole table to analyze it (Assign.analyze).
 */
#ifndef PGCONVOY_AGENT_COPY_ANALYZE_H
#define PGCONVOY_AGENT_COPY_ANALYZE_H

#include <stddef.h>

#include <libpq-fe.h>

/*
 * Analyzes the n tables (quoted, "schema"."name") in tgt's open
 * transaction, in one statement under a savepoint: a failure is undone
 * alone, leaving the copies' transaction as it was, and the tables to
 * their ANALYZE units. Returns 0, or -1 with *error set.
 */
int copy_analyze_run(PGconn *tgt, const char *const *qualified, size_t n,
                     char **error);

#endif
