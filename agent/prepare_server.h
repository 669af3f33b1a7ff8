/*
 * agent/prepare_server.h
 *     The prepare unit's checks of the source server's settings: what
 *     logical replication needs of it (online), and whether its lock
 *     table has room for a lock on every table to migrate.
 *
 * Settings belong to the server and most take a restart to change: a
 * task they cannot carry is refused before anything is written, naming
 * the setting and the value it needs.
 */
#ifndef PGCONVOY_AGENT_PREPARE_SERVER_H
#define PGCONVOY_AGENT_PREPARE_SERVER_H

#include <libpq-fe.h>
#include <stddef.h>

#include "pgconvoy.pb-c.h"

/*
 * Online: adds to res a problem for each thing logical replication needs
 * of the source and does not have: wal_level logical, a free replication
 * slot and WAL sender, a role that may replicate and create a
 * publication in a->source's database.
 */
void prepare_server_check_online(const Pgconvoy__Assign *a, PGconn *src,
                                 Pgconvoy__Result *res);

/*
 * pg_dump, and an online task's CREATE PUBLICATION, lock each of the
 * n_tables tables in one transaction (pg_dump the catalogs it reads too),
 * in the server's lock table, which every session shares. Adds to res a
 * problem when those locks exceed what the table is sized for, a notice
 * when they take more than half of it.
 */
void prepare_server_check_locks(const Pgconvoy__Assign *a, PGconn *src,
                                size_t n_tables, Pgconvoy__Result *res);

#endif
