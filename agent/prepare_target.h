/*
 * agent/prepare_target.h
 *     The prepare unit's checks of the target database: its tables (none
 *     or all of the task's, all empty), the privilege to make a schema
 *     when it has none, and, when the user made the schema beforehand
 *     (pg_dump --schema-only | psql, as the DMS tutorial has it), the
 *     CHECK constraints that will refuse rows the source holds.
 */
#ifndef PGCONVOY_AGENT_PREPARE_TARGET_H
#define PGCONVOY_AGENT_PREPARE_TARGET_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "pgconvoy.pb-c.h"

/*
 * Adds to res a problem for each of res->tables that holds rows on tgt,
 * and one when only some of them exist; sets res->target_has_schema when
 * all do.
 */
void prepare_target_check_tables(const Pgconvoy__Assign *a, PGconn *tgt,
                                 Pgconvoy__Result *res);

/* Adds a problem when the target's role may not create schemas. */
void prepare_target_check_privileges(const Pgconvoy__Assign *a, PGconn *tgt,
                                     Pgconvoy__Result *res);

/*
 * A CHECK constraint added NOT VALID on the source (of a table of
 * res->tables, or of a domain one of their columns has) was never checked
 * against the rows already there, which may break it. pg_restore makes
 * such a constraint after the data; a schema made beforehand has it
 * already, and the target checks every row loaded, so such a row fails
 * the load. Adds a notice for each one the target has, naming it and
 * what to do.
 */
void prepare_target_check_not_valid(const Pgconvoy__Assign *a, PGconn *src,
                                    PGconn *tgt, Pgconvoy__Result *res);

/*
 * The target's role and what the load and the apply ask of it. Online,
 * applying the changes sets session_replication_role to replica (no
 * trigger or foreign key of the target sees replicated rows) and records
 * its progress in a replication origin: a problem when the role may do
 * neither, found now rather than once the full load is over. Offline, the
 * copies set that role only for a schema made beforehand (has_schema): a
 * problem when they cannot while the target has foreign keys on the
 * tables, a notice when it has triggers.
 */
void prepare_target_check_replica(const Pgconvoy__Assign *a, PGconn *tgt,
                                  bool has_schema, Pgconvoy__Result *res);

#endif
