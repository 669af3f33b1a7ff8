/*
 * coordinator/databases.h
 *     The rows of databases, the catalog's databases of a task, typed:
 *     one read by its key gives every column a caller decides on.
 */
#ifndef PGCONVOY_COORDINATOR_DATABASES_H
#define PGCONVOY_COORDINATOR_DATABASES_H

#include <stdbool.h>
#include <stdint.h>

#include "coordinator/states.h"
#include "coordinator/store.h"

/* PostgreSQL's NAMEDATALEN: a name is at most 63 bytes */
#define DATABASES_NAME_SIZE 64

/*
 * One row of databases. Its texts of no bound are left out: the tables
 * selected, the snapshot's name (only whether there is one), the error
 * and the times.
 */
typedef struct
{
    int64_t id;
    int64_t task_id;
    /* as the task asked; a longer name is cut to 63 bytes, as PostgreSQL
     * cuts it when connecting */
    char name[DATABASES_NAME_SIZE];
    char target_name[DATABASES_NAME_SIZE];
    db_state_t state;      /* DB_STATE_COUNT if the spelling is none */
    bool skip_schema;      /* the target has the schema already */
    bool has_snapshot;     /* a snapshot is held: copies may go */
    int64_t snapshot_unit; /* the unit holding it; 0 for none (NULL) */
    /* online: the slot ("" for none: NULL), where its stream starts, and
     * the cutover asked for */
    char slot[DATABASES_NAME_SIZE];
    uint64_t start_lsn;
    bool cutover;
    bool validate;
    /* the cdc unit's latest report */
    uint64_t end_lsn; /* where the cutover stops the stream; 0: not yet */
    uint64_t received_lsn;
    uint64_t applied_lsn;
    uint64_t source_lsn;
    int64_t latency_ms;
    int64_t pending; /* changes received, not committed yet */
    int64_t slot_wal_bytes; /* WAL the slot holds back on the source */
    int64_t reloads;        /* full loads started over */
} databases_row_t;

/*
 * Reads database id into *row by its key. Returns 0, or -1 if there is
 * no such database (or the read failed, logged): *row is then zeroed,
 * its state DB_STATE_COUNT.
 */
int databases_get(store_t *store, int64_t id, databases_row_t *row);

#endif
