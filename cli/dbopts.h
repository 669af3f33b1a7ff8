/*
 * cli/dbopts.h
 *     The options of how a database is migrated that `pgconvoy migrate`
 *     and `pgconvoy task create` both take: read, checked and put into a
 *     request in one place, so the two verbs cannot drift apart.
 */
#ifndef PGCONVOY_CLI_DBOPTS_H
#define PGCONVOY_CLI_DBOPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "pgconvoy.pb-c.h"

typedef struct
{
    int64_t split_bytes;       /* 0: the coordinator's default */
    bool fix_replica_identity; /* online: REPLICA IDENTITY FULL if no key */
    bool no_owner;             /* objects owned by the migrating role */
    bool no_privileges;        /* no GRANT, REVOKE, default privileges */
    bool create_roles;         /* make the roles the target lacks */
    bool role_passwords;       /* with their source passwords */
    bool no_analyze;           /* statistics left to autovacuum */
} cli_dbopts_t;

/*
 * Takes option c, as cmdline_next() returned it, with its argument arg:
 * 1 if it is one of these options (stored in self), 0 if it is not,
 * -1 if its value is bad (named on stderr).
 */
int cli_dbopts_parse(cli_dbopts_t *self, int c, const char *arg);

/* 0 if the options go together and with the task's kind, else -1 with
 * the reason on stderr. online_name says how the verb asks for an online
 * migration ("--online", "OnlineMigration tasks"). */
int cli_dbopts_check(const cli_dbopts_t *self, bool online,
                     const char *online_name);

/* Copies the options into a TASK_CREATE request. */
void cli_dbopts_fill(const cli_dbopts_t *self, Pgconvoy__Request *req);

#endif
