/*
 * coordinator/tables.h
 *     The rows of tables_, the catalog's tables to migrate, typed: one
 *     read by its key gives every column a caller decides on.
 */
#ifndef PGCONVOY_COORDINATOR_TABLES_H
#define PGCONVOY_COORDINATOR_TABLES_H

#include <stdbool.h>
#include <stdint.h>

#include "coordinator/states.h"
#include "coordinator/store.h"

/* PostgreSQL's NAMEDATALEN: a name is at most 63 bytes */
#define TABLES_NAME_SIZE 64

/*
 * One row of tables_. Its texts of no bound are left out: the column
 * list, the agents that loaded it, its error, how it differs, and the
 * times (the status reads those itself).
 */
typedef struct
{
    int64_t id;
    int64_t database_id;
    char schema_name[TABLES_NAME_SIZE]; /* as pg_catalog has it */
    char table_name[TABLES_NAME_SIZE];
    table_state_t state; /* TABLE_STATE_COUNT if the spelling is none */
    int64_t bytes_est;   /* the source's size, from prepare */
    int64_t rows_est;    /* reltuples, from prepare */
    int64_t pages;       /* relpages, from prepare: what ranges split */
    int64_t parts;       /* block ranges it is copied in, from 1 */
    bool binary_ok;      /* COPY in binary may carry every column */
    int64_t rows;        /* copied, once every range is in */
    int64_t bytes;       /* copied, once every range is in */
    int64_t cdc_ins;     /* changes applied since the full load */
    int64_t cdc_upd;
    int64_t cdc_del;
    bool differs; /* cutover --validate found it differs */
} tables_row_t;

/*
 * Reads table id into *row by its key. Returns 0, or -1 if there is no
 * such table (or the read failed, logged): *row is then zeroed, its
 * state TABLE_STATE_COUNT.
 */
int tables_get(store_t *store, int64_t id, tables_row_t *row);

#endif
