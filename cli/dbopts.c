/*
 * cli/dbopts.c
 *     The per-database options shared by `migrate` and `task create`.
 */
#include "cli/dbopts.h"

#include <stdlib.h>

#include "cli/cli.h"
#include "common/config.h"

int
cli_dbopts_parse(cli_dbopts_t *self, int c, const char *arg)
{
    char *error = NULL;

    switch (c)
    {
        case CLI_OPT_SPLIT:
            if (config_parse_size(arg, &self->split_bytes, &error) != 0)
            {
                cli_error("--split-tables-larger-than: %s", error);
                free(error);
                return -1;
            }
            return 1;
        case CLI_OPT_FIX_REPLICA_IDENTITY:
            self->fix_replica_identity = true;
            return 1;
        case CLI_OPT_NO_OWNER:
            self->no_owner = true;
            return 1;
        case CLI_OPT_NO_PRIVILEGES:
            self->no_privileges = true;
            return 1;
        case CLI_OPT_ROLES:
            self->create_roles = true;
            return 1;
        case CLI_OPT_ROLE_PASSWORDS:
            self->role_passwords = true;
            return 1;
        case CLI_OPT_NO_ANALYZE:
            self->no_analyze = true;
            return 1;
        default:
            return 0;
    }
}

int
cli_dbopts_check(const cli_dbopts_t *self, bool online, const char *online_name)
{
    if (self->role_passwords && !self->create_roles)
    {
        cli_error("--role-passwords applies to --roles only: it gives the "
                  "roles --roles creates their source passwords");
        return -1;
    }
    if (self->fix_replica_identity && !online)
    {
        cli_error("--fix-replica-identity applies to %s only: an offline "
                  "migration copies tables without a key as they are",
                  online_name);
        return -1;
    }
    return 0;
}

void
cli_dbopts_fill(const cli_dbopts_t *self, Pgconvoy__Request *req)
{
    req->split_bytes = self->split_bytes;
    req->fix_replica_identity = self->fix_replica_identity;
    req->no_owner = self->no_owner;
    req->no_privileges = self->no_privileges;
    req->create_roles = self->create_roles;
    req->role_passwords = self->role_passwords;
    req->no_analyze = self->no_analyze;
}
