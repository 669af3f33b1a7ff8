/*
 * agent/prepare_roles.h
 *     The check that the target has every role the schema names: the
 *     owners of the source's objects, the roles granted privileges on
 *     them, and those their row security policies apply to.
 *
 * Roles belong to the server, not to the database, so a database's dump
 * names roles it does not make. pg_restore reports each statement that
 * names a missing role and goes on; pgconvoy refuses the task before it
 * writes anything, naming every role missing and what to do about it.
 */
#ifndef PGCONVOY_AGENT_PREPARE_ROLES_H
#define PGCONVOY_AGENT_PREPARE_ROLES_H

#include <libpq-fe.h>

#include "pgconvoy.pb-c.h"

/* The roles --roles is to create, with their memberships. */
typedef struct prepare_roles_t prepare_roles_t;

/*
 * Adds to res a problem for each kind of role the target lacks, and one
 * if the migrating role cannot give objects to their owners (it must be
 * a member of each owner role, or a superuser). With a->no_owner the
 * owners do not count, with a->no_privileges the grantees do not. With
 * a->create_roles, the roles the target lacks are no problem: returns
 * the plan to create them (with the source's attributes, its password
 * verifiers only with a->role_passwords, members of the groups the
 * target has or gets, and, for an owner, granted to the migrating role
 * unless it is a superuser), which
 * prepare_roles_create() carries out once every check has passed. NULL
 * if there is nothing to create.
 */
prepare_roles_t *prepare_roles_check(const Pgconvoy__Assign *a, PGconn *src,
                                     PGconn *tgt, Pgconvoy__Result *res);

/* Creates the planned roles on tgt, all in one transaction. Returns 0,
 * or -1 with a problem added to res. */
int prepare_roles_create(prepare_roles_t *self, PGconn *tgt,
                         Pgconvoy__Result *res);
void prepare_roles_destroy(prepare_roles_t **self_p);

#endif
