/*
 * agent/postdata.h
 *     The post-data section of a schema-only pg_dump archive, as schema
 *     items: one per TOC entry (an index, a constraint, a trigger…), each
 *     a script that builds that entry alone.
 *
 * The items are cut from one pg_restore run over the whole section, and
 * checked against the archive's table of contents: entry for entry, the
 * script must hold one header of the same type. Where it does not (a
 * comment holding what looks like a header), each item is extracted by
 * a pg_restore run of its own, which is exact but costs a process per
 * item.
 */
#ifndef PGCONVOY_AGENT_POSTDATA_H
#define PGCONVOY_AGENT_POSTDATA_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "pgconvoy.pb-c.h"

/*
 * pg_restore's passes: it prints every object, then every GRANT, REVOKE
 * and default privilege (so that no privilege taken away stops the
 * making of an object), then what reads data as its owner (materialized
 * views' contents) or acts on what is made (event triggers).
 */
typedef enum
{
    POSTDATA_PASS_MAIN,
    POSTDATA_PASS_ACL,
    POSTDATA_PASS_POST_ACL
} postdata_pass_t;

/* The pass of an entry of TOC type kind (NULL: unknown) and tag. */
postdata_pass_t postdata_pass(const char *kind, const char *tag);

/* Orders items[0..n) by pass, keeping the order within each: the order
 * in which finalize runs them. */
void postdata_order_items(Pgconvoy__SchemaItem **items, size_t n);

typedef struct
{
    char *const *skip_fks; /* foreign keys left out: "schema table name" */
    size_t nskip_fks;
    bool acl_only; /* only the GRANTs, REVOKEs and default privileges */
    bool no_owner; /* pg_restore --no-owner */
} postdata_options_t;

/*
 * Reads the archive at dump (pg_dump -Fc --section=post-data, or
 * pre-data with acl_only) and adds its entries to res as items, in
 * pass order. dir is a private directory for the list files. src
 * (borrowed) finds each index's and constraint's table. Returns 0, or
 * -1 with *error set.
 */
int postdata_read_items(const char *pg_bin, PGconn *src, const char *dir,
                        const char *dump, const postdata_options_t *opts,
                        Pgconvoy__Result *res, char **error);

/*
 * Cuts script (pg_restore's output for n entries) into one script per
 * entry: the preamble of session settings, the tablespace and access
 * method settings in force for that entry, and the entry itself.
 * kinds[i] is entry i's TOC type, or NULL for one of a type we do not
 * know, which matches any. Returns an array of n scripts (free each and
 * the array), or NULL when the script's headers do not match the
 * entries one for one.
 */
char **postdata_split(const char *script, size_t n, const char *const *kinds);

/*
 * The same, cut into groups of consecutive entries: group g holds the
 * entries from ends[g - 1] (0 for the first) up to ends[g], which must
 * end with n; each is a script to run alone, as postdata_split() makes
 * them, and between its entries holds what pg_restore printed there.
 * Returns an array of ngroups scripts, or NULL as postdata_split().
 */
char **postdata_split_groups(const char *script, size_t n,
                             const char *const *kinds, const size_t *ends,
                             size_t ngroups);

#endif
