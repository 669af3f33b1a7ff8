/*
 * agent/copy_analyze.h
 *     Statistics gathered by the copy: a small whole table is analyzed
 *     the moment its copy commits, in the same session, while its pages
 *     are still in the target's cache, and the coordinator queues no
 *     ANALYZE unit for it (Result.analyzed).
 *
 * Why: on 2,000 tables of 100 rows, an ANALYZE unit a table after its
 * index builds made the migration 0.6 s longer than without statistics
 * (4.6 s against 3.9 s), twice what the statements cost: each was one
 * more unit to place, run, report and record while the builds waited
 * for the same two cores. After the copy it is one statement for the
 * group's tables (unit_analyze_tables(), as an ANALYZE unit runs it), and
 * nothing more to place. Above a megabyte a table's
 * ANALYZE outweighs its unit's placement: those keep their units.
 *
 * Why after the commit and not inside the copy's transaction, which
 * ANALYZE allows (it counts and samples the rows its own transaction
 * wrote): the server counts those rows as changes since the table's last
 * ANALYZE once the copy commits, after the ANALYZE has set that count to
 * zero. So autovacuum analyzed every table once more, during the
 * migration too (820 of 2,000 tables in one run), and an index build
 * behind its lock waited deadlock_timeout (1 s) for it to be cancelled.
 * A server counts a session's writes into its statistics when the
 * session goes idle, at most once a second: from 15 on, the copy's
 * commit asks for it at once (pg_stat_force_next_flush()), so that the
 * ANALYZE that follows finds them counted and sets the count to zero.
 * Before 15 the count may stay, as it does after a pg_restore.
 *
 * Three kinds of table wait for an ANALYZE unit after their builds, as
 * before, because what is built after the load changes what ANALYZE
 * gathers:
 *   - one with an index on expressions: ANALYZE also gathers the
 *     statistics of the expressions of the indexes that exist;
 *   - one with extended statistics (CREATE STATISTICS, which pg_dump
 *     makes after the data);
 *   - the parent of inheritance children: its statistics of the whole
 *     tree need the children loaded.
 * The prepare unit reads which from the source's catalog, with the list
 * of tables (TableRef.analyze_early), and the coordinator asks the copy
 * of each other whole table under 1 MB to analyze it (Assign.analyze).
 */
#ifndef PGCONVOY_AGENT_COPY_ANALYZE_H
#define PGCONVOY_AGENT_COPY_ANALYZE_H

#include <stdbool.h>

#include <libpq-fe.h>

/* Commits a copy's transaction on tgt, with its writes counted as the
 * session goes idle if tables are to be analyzed after it (analyzing) and
 * the server may be asked to. Returns the last result, for the caller to
 * check and clear: COMMIT's, or the one that failed before it. */
PGresult *copy_analyze_commit(PGconn *tgt, bool analyzing);

#endif
