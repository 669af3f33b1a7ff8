/*
 * agent/prepare_roles.h
 *     The check that the target has every role the schema names: the
 *     owners of the source's objects, the roles granted privileges on
 *     them, and those their row security policies apply to.
 *
 * Roles belong to the server, not to the database, so a database's dump
 * names roles it does not make. pg_restore reports each statement that
 * names a missing role and goes on; pgferry refuses the task before it
 * writes anything, naming every role missing and what to do about it.
 */
#ifndef PGFERRY_AGENT_PREPARE_ROLES_H
#define PGFERRY_AGENT_PREPARE_ROLES_H

#include <libpq-fe.h>

#include "pgferry.pb-c.h"

/*
 * Adds to res a problem for each kind of role the target lacks, and one
 * if the migrating role cannot give objects to their owners (it must be
 * a member of each owner role, or a superuser). With a->no_owner the
 * owners do not count, with a->no_privileges the grantees do not.
 */
void prepare_check_roles(const Pgferry__Assign *a, PGconn *src, PGconn *tgt,
                         Pgferry__Result *res);

#endif
