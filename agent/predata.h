/*
 * agent/predata.h
 *     The pre-data section of a schema-only pg_dump archive (schemas,
 *     types, functions, tables, sequences, views…) cut into chunks of
 *     consecutive entries, each naming the tables it creates.
 *
 * Made in one transaction, the 2,000 tables of a database take a core
 * for seconds while the other cores wait for the first table to copy.
 * Made chunk by chunk, in the archive's order (which is its dependency
 * order), a chunk's tables can be loaded as soon as it commits, while
 * the next chunks are made.
 */
#ifndef PGCONVOY_AGENT_PREDATA_H
#define PGCONVOY_AGENT_PREDATA_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "pgconvoy.pb-c.h"

typedef struct
{
    char *sql;                   /* owned: runs alone, preamble and all */
    Pgconvoy__TableRef **tables; /* owned: schema and name of each table */
    size_t n_tables;             /* it creates */
} predata_chunk_t;

/*
 * Reads the archive at dump (pg_dump -Fc --section=pre-data) into chunks:
 * the first closed after first_tables tables, the others after tables
 * tables each. src (borrowed) names the tables. A section whose tables
 * may not be loaded while it is made (predata.c) is cut the same, but
 * its chunks name no table: every table exists once the last commits.
 * When pg_restore's script cannot be cut entry for entry, one chunk
 * holds it whole and names no table. The script leaves out the
 * GRANTs, REVOKEs and default privileges (postdata_read_items() reads
 * them, for after the load), and the owners with no_owner. Returns 0
 * with *chunks_p and *n set, or -1 with *error set.
 */
int predata_read_chunks(const char *pg_bin, PGconn *src, const char *dump,
                        bool no_owner, size_t first_tables, size_t tables,
                        predata_chunk_t **chunks_p, size_t *n, char **error);
void predata_free_chunks(predata_chunk_t **chunks_p, size_t n);

#endif
