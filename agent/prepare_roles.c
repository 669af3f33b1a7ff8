/*
 * agent/prepare_roles.c
 *     Does the target have the roles the source's schema names?
 *
 * pg_shdepend records, per database, every object's owner, every role
 * named in a privilege and every role a policy applies to, except the
 * bootstrap superuser, whose dependencies are not recorded: for that one
 * the objects of the usual kinds are looked at directly. Both lists may
 * name a role for an object pg_dump leaves out (an extension's member,
 * a table not selected); the check then asks for a role pg_restore would
 * not have needed, never the reverse.
 */
#include "agent/prepare_roles.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "agent/unit.h"
#include "common/log.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

/* n (an alias of pg_namespace) is a schema pg_dump dumps the objects of */
#define ROLES_USER_SCHEMA(N)                                                   \
    N ".nspname NOT IN ('information_schema', 'pgconvoy') "                    \
      "AND " N ".nspname !~ '^pg_'"

/* objects of catalog CAT (alias o) owned by the bootstrap superuser, in
 * a schema pg_dump dumps, not members of an extension */
#define ROLES_BOOTSTRAP_OWNS(CAT, OWNER, NSP)                                  \
    "EXISTS (SELECT 1 FROM " CAT " o JOIN pg_namespace n "                     \
    "          ON n.oid = o." NSP " WHERE o." OWNER " = 10 "                   \
    "         AND " ROLES_USER_SCHEMA(                                         \
        "n") " AND NOT EXISTS ("                                               \
             "             SELECT 1 FROM pg_depend e WHERE e.classid = '" CAT  \
             "'::regclass AND e.objid = o.oid AND e.deptype = 'e'))"

/* Each role: whether it owns objects, is granted privileges, is named by
 * a policy, then its attributes (for --roles). The public schema's owner
 * is dumped only when it is not the default one, the bootstrap
 * superuser on servers before 15. */
/* clang-format off */
static const char *const s_source_roles_sql =
    "WITH deps AS ("
    "  SELECT d.refobjid AS role, d.deptype FROM pg_shdepend d "
    "   WHERE d.dbid = (SELECT oid FROM pg_database "
    "                    WHERE datname = current_database()) "
    "     AND d.refclassid = 'pg_authid'::regclass "
    "     AND d.deptype IN ('o', 'a', 'r') "
    "  UNION ALL "
    "  SELECT 10, 'o' "
    "   WHERE EXISTS (SELECT 1 FROM pg_namespace n "
    "                  WHERE n.nspowner = 10 AND n.nspname <> 'public' "
    "                    AND " ROLES_USER_SCHEMA("n") ") "
    "      OR " ROLES_BOOTSTRAP_OWNS("pg_class", "relowner", "relnamespace")
    "      OR " ROLES_BOOTSTRAP_OWNS("pg_proc", "proowner", "pronamespace")
    "      OR " ROLES_BOOTSTRAP_OWNS("pg_type", "typowner", "typnamespace")
    "), "
    "named AS (SELECT role, bool_or(deptype = 'o') AS owns, "
    "                 bool_or(deptype = 'a') AS granted, "
    "                 bool_or(deptype = 'r') AS policy "
    "            FROM deps GROUP BY role) "
    "SELECT r.rolname, x.owns, x.granted, x.policy, r.rolsuper, "
    "       r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin, "
    "       r.rolreplication, r.rolbypassrls, r.rolconnlimit, "
    "       r.rolvaliduntil::text "
    "  FROM named x JOIN pg_roles r ON r.oid = x.role "
    " ORDER BY r.rolname";
/* clang-format on */

/* The memberships of the roles named (a text array) on the source:
 * group, member. */
static const char *const s_memberships_sql =
    "SELECT g.rolname, r.rolname FROM pg_auth_members m "
    "  JOIN pg_roles g ON g.oid = m.roleid "
    "  JOIN pg_roles r ON r.oid = m.member "
    " WHERE r.rolname = ANY ($1::text[]) ORDER BY 2, 1";

/* For each role of the source's: whether the target has it, and whether
 * the migrating role may give objects to it. */
static const char *const s_target_roles_sql =
    "SELECT x.name, r.oid IS NOT NULL, "
    "       r.oid IS NOT NULL AND pg_has_role(current_user, r.oid, 'MEMBER'), "
    "       current_user, "
    "       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) "
    "  FROM unnest($1::text[]) WITH ORDINALITY AS x(name, i) "
    "  LEFT JOIN pg_roles r ON r.rolname = x.name ORDER BY x.i";

/* The roles of one kind of problem, as "\"a\", \"b\"". */
typedef struct
{
    strbuf_t *names;
    size_t n;
} s_role_list_t;

static void
s_list_add(s_role_list_t *list, const char *name)
{
    if (list->names == NULL)
    {
        list->names = strbuf_new();
    }
    strbuf_appendf(list->names, "%s\"%s\"", list->n > 0 ? ", " : "", name);
    list->n++;
}

/* "role \"a\"" or "roles \"a\", \"b\"", and the list is emptied. */
static char *
s_list_take(s_role_list_t *list)
{
    char *names = list->names != NULL ? strbuf_finish(&list->names) : NULL;
    char *text = xasprintf("role%s %s", list->n == 1 ? "" : "s",
                           names != NULL ? names : "");

    free(names);
    list->n = 0;
    return text;
}

/*
 * The problem of the roles in list missing on the target: "…has no
 * role(s) LIST, WHAT WHERE of the source database…", then remedy.
 */
static void
s_report_missing(Pgconvoy__Result *res, const char *server, s_role_list_t *list,
                 const char *what, const char *where, const char *source_db,
                 const char *remedy)
{
    if (list->n == 0)
    {
        return;
    }
    char *names = s_list_take(list);
    unit_add_problem(res,
                     xasprintf("target server %s has no %s, %s %s of the "
                               "source database \"%s\": expected each on the "
                               "target (pg_dumpall --roles-only prints the "
                               "source's roles)%s",
                               server, names, what, where, source_db, remedy));
    free(names);
}

/* The roles --roles creates: their statements, and their names. */
struct prepare_roles_t
{
    strbuf_t *sql;   /* CREATE ROLE …; the GRANTs; the passwords */
    strbuf_t *names; /* "a", "b": for the log */
    size_t n;
    int passwords; /* how many get their source password */
};

static const char *
s_no(const PGresult *r, int row, int col)
{
    return PQgetvalue(r, row, col)[0] == 't' ? "" : "NO";
}

/* Plans the creation of row i of roles (the source's listing) with its
 * attributes; give_to_me: the migrating role is made a member, so that
 * it may give the role objects. */
static void
s_plan_role(prepare_roles_t *plan, PGconn *tgt, const PGresult *roles, int i,
            bool give_to_me)
{
    char *name = pgconn_quote_ident(tgt, PQgetvalue(roles, i, 0));

    strbuf_appendf(plan->sql,
                   "CREATE ROLE %s %sSUPERUSER %sINHERIT %sCREATEROLE "
                   "%sCREATEDB %sLOGIN %sREPLICATION %sBYPASSRLS "
                   "CONNECTION LIMIT %s",
                   name, s_no(roles, i, 4), s_no(roles, i, 5),
                   s_no(roles, i, 6), s_no(roles, i, 7), s_no(roles, i, 8),
                   s_no(roles, i, 9), s_no(roles, i, 10),
                   PQgetvalue(roles, i, 11));
    if (!PQgetisnull(roles, i, 12))
    {
        const char *until = PQgetvalue(roles, i, 12);
        char *literal = PQescapeLiteral(tgt, until, strlen(until));
        strbuf_appendf(plan->sql, " VALID UNTIL %s", literal ? literal : "''");
        PQfreemem(literal);
    }
    strbuf_append(plan->sql, ";\n");
    if (give_to_me)
    {
        strbuf_appendf(plan->sql, "GRANT %s TO CURRENT_USER;\n", name);
    }
    strbuf_appendf(plan->names, "%s\"%s\"", plan->n > 0 ? ", " : "",
                   PQgetvalue(roles, i, 0));
    plan->n++;
    free(name);
}

/*
 * Plans the source's password verifiers of the roles planned (names, a
 * text array) that have one: pg_authid, which only a superuser reads.
 * The verifier (SCRAM or md5) is set as it is, the password itself is
 * never known. Returns 0, or -1 with *error set.
 */
static int
s_plan_passwords(prepare_roles_t *plan, PGconn *src, PGconn *tgt,
                 const char *names, char **error)
{
    const char *params[1] = {names};
    PGresult *r = pgconn_query(src,
                               "SELECT rolname, rolpassword FROM pg_authid "
                               "WHERE rolname = ANY ($1::text[]) "
                               "AND rolpassword IS NOT NULL ORDER BY 1",
                               1, params, error);

    if (r == NULL)
    {
        return -1;
    }
    for (int i = 0; i < PQntuples(r); i++)
    {
        const char *verifier = PQgetvalue(r, i, 1);
        char *role = pgconn_quote_ident(tgt, PQgetvalue(r, i, 0));
        char *literal = PQescapeLiteral(tgt, verifier, strlen(verifier));
        strbuf_appendf(plan->sql, "ALTER ROLE %s PASSWORD %s;\n", role,
                       literal != NULL ? literal : "NULL");
        PQfreemem(literal);
        free(role);
    }
    plan->passwords = PQntuples(r);
    PQclear(r);
    return 0;
}

/*
 * Plans the memberships of the roles planned (names, a text array): each
 * in a group the target has, or that is planned too. Returns 0, or -1
 * with *error set.
 */
static int
s_plan_memberships(prepare_roles_t *plan, PGconn *src, PGconn *tgt,
                   const char *names, char **error)
{
    const char *params[1] = {names};
    PGresult *members = pgconn_query(src, s_memberships_sql, 1, params, error);
    strbuf_t *groups = strbuf_new();
    PGresult *have = NULL;
    int rc = -1;

    if (members == NULL)
    {
        goto cleanup;
    }
    strbuf_append(groups, "{");
    for (int i = 0; i < PQntuples(members); i++)
    {
        strbuf_append_array_text(groups, PQgetvalue(members, i, 0));
    }
    strbuf_append(groups, "}");
    const char *group_params[2] = {strbuf_data(groups), names};
    /* one row per membership: whether its group will exist */
    have = pgconn_query(tgt,
                        "SELECT g = ANY ($2::text[]) OR EXISTS (SELECT 1 "
                        "FROM pg_roles WHERE rolname = g) "
                        "FROM unnest($1::text[]) WITH ORDINALITY AS x(g, i) "
                        "ORDER BY i",
                        2, group_params, error);
    if (have == NULL || PQntuples(have) != PQntuples(members))
    {
        goto cleanup;
    }
    for (int i = 0; i < PQntuples(members); i++)
    {
        if (PQgetvalue(have, i, 0)[0] != 't')
        {
            continue;
        }
        char *group = pgconn_quote_ident(tgt, PQgetvalue(members, i, 0));
        char *member = pgconn_quote_ident(tgt, PQgetvalue(members, i, 1));
        strbuf_appendf(plan->sql, "GRANT %s TO %s;\n", group, member);
        free(group);
        free(member);
    }
    rc = 0;

cleanup:
    PQclear(members);
    PQclear(have);
    strbuf_destroy(&groups);
    return rc;
}

prepare_roles_t *
prepare_roles_check(const Pgconvoy__Assign *a, PGconn *src, PGconn *tgt,
                    Pgconvoy__Result *res)
{
    char *error = NULL;
    char *server = pgconn_describe(a->target);
    PGresult *roles = pgconn_query(src, s_source_roles_sql, 0, NULL, &error);
    PGresult *found = NULL;
    strbuf_t *names = strbuf_new();
    strbuf_t *planned = strbuf_new();
    s_role_list_t owners = {NULL, 0};
    s_role_list_t grantees = {NULL, 0};
    s_role_list_t policies = {NULL, 0};
    s_role_list_t not_member = {NULL, 0};
    prepare_roles_t *plan = xcalloc(1, sizeof *plan);

    plan->sql = strbuf_new();
    plan->names = strbuf_new();
    if (roles == NULL)
    {
        unit_add_problem(res,
                         xasprintf("source database \"%s\": could not list "
                                   "the roles its objects name: %s",
                                   a->source->dbname, error));
        goto cleanup;
    }
    strbuf_append(names, "{");
    for (int i = 0; i < PQntuples(roles); i++)
    {
        strbuf_append_array_text(names, PQgetvalue(roles, i, 0));
    }
    strbuf_append(names, "}");
    const char *params[1] = {strbuf_data(names)};
    found = pgconn_query(tgt, s_target_roles_sql, 1, params, &error);
    if (found == NULL || PQntuples(found) != PQntuples(roles))
    {
        unit_add_problem(res, xasprintf("target database \"%s\": could not "
                                        "look for the roles of the source's "
                                        "objects: %s",
                                        a->target->dbname,
                                        error ? error : "rows missing"));
        goto cleanup;
    }
    strbuf_append(planned, "{");
    for (int i = 0; i < PQntuples(roles); i++)
    {
        const char *name = PQgetvalue(roles, i, 0);
        bool owns = PQgetvalue(roles, i, 1)[0] == 't' && !a->no_owner;
        bool granted = PQgetvalue(roles, i, 2)[0] == 't' && !a->no_privileges;
        bool policy = PQgetvalue(roles, i, 3)[0] == 't';
        bool exists = PQgetvalue(found, i, 1)[0] == 't';
        bool member = PQgetvalue(found, i, 2)[0] == 't';
        bool superuser = PQgetvalue(found, i, 4)[0] == 't';

        if (!exists && (owns || granted || policy) && a->create_roles)
        {
            s_plan_role(plan, tgt, roles, i, owns && !superuser);
            strbuf_append_array_text(planned, name);
        }
        else if (!exists && owns)
        {
            s_list_add(&owners, name);
        }
        else if (!exists && granted)
        {
            s_list_add(&grantees, name);
        }
        else if (!exists && policy)
        {
            s_list_add(&policies, name);
        }
        else if (exists && owns && !member)
        {
            s_list_add(&not_member, name);
        }
    }
    strbuf_append(planned, "}");
    if (plan->n > 0 &&
        s_plan_memberships(plan, src, tgt, strbuf_data(planned), &error) != 0)
    {
        unit_add_problem(res, xasprintf("could not read the memberships of "
                                        "the roles to create: %s",
                                        error ? error : "rows missing"));
    }
    free(error);
    error = NULL;
    if (plan->n > 0 && a->role_passwords &&
        s_plan_passwords(plan, src, tgt, strbuf_data(planned), &error) != 0)
    {
        unit_add_problem(
            res, xasprintf("source database \"%s\": could not read the "
                           "passwords of the roles to create (pg_authid, "
                           "which only a superuser reads): %s; expected a "
                           "superuser source user, or no --role-passwords",
                           a->source->dbname, error));
    }
    s_report_missing(res, server, &owners, owners.n == 1 ? "owner" : "owners",
                     "of objects", a->source->dbname,
                     ", --roles to create it, or --no-owner to give every "
                     "object to the migrating role");
    s_report_missing(res, server, &grantees, "granted privileges", "on objects",
                     a->source->dbname,
                     ", --roles to create it, or --no-privileges to leave "
                     "every GRANT out");
    s_report_missing(res, server, &policies, "named by row security",
                     "policies", a->source->dbname,
                     ", or --roles to create it");
    if (not_member.n > 0)
    {
        const char *noun = not_member.n == 1 ? "owner" : "owners";
        char *list = s_list_take(&not_member);
        const char *user = PQgetvalue(found, 0, 3);
        unit_add_problem(
            res, xasprintf("target database \"%s\": role \"%s\" cannot give "
                           "objects to %s, %s of objects of the "
                           "source database \"%s\": expected it to be a "
                           "superuser or a member of each owner (GRANT "
                           "owner TO \"%s\"), or --no-owner",
                           a->target->dbname, user, list, noun,
                           a->source->dbname, user));
        free(list);
    }

cleanup:
    free(error);
    free(server);
    PQclear(roles);
    PQclear(found);
    strbuf_destroy(&names);
    strbuf_destroy(&planned);
    strbuf_destroy(&owners.names);
    strbuf_destroy(&grantees.names);
    strbuf_destroy(&policies.names);
    strbuf_destroy(&not_member.names);
    if (plan->n == 0)
    {
        prepare_roles_destroy(&plan);
    }
    return plan;
}

int
prepare_roles_create(prepare_roles_t *self, PGconn *tgt, Pgconvoy__Result *res)
{
    char *error = NULL;
    char *ignored = NULL;
    strbuf_t *sql = strbuf_new();
    int rc = 0;

    /* all or none: a role made and another refused would leave half */
    strbuf_appendf(sql, "BEGIN;\n%sCOMMIT", strbuf_data(self->sql));
    if (pgconn_command(tgt, strbuf_data(sql), &error) != 0)
    {
        (void) pgconn_command(tgt, "ROLLBACK", &ignored);
        unit_add_problem(res, xasprintf("target database \"%s\": could not "
                                        "create role%s %s: %s",
                                        PQdb(tgt), self->n == 1 ? "" : "s",
                                        strbuf_data(self->names), error));
        rc = -1;
    }
    else
    {
        log_info("db=%s created role%s %s on the target, %d with the "
                 "source's password",
                 PQdb(tgt), self->n == 1 ? "" : "s", strbuf_data(self->names),
                 self->passwords);
    }
    free(error);
    free(ignored);
    strbuf_destroy(&sql);
    return rc;
}

void
prepare_roles_destroy(prepare_roles_t **self_p)
{
    prepare_roles_t *self = *self_p;

    if (self == NULL)
    {
        return;
    }
    strbuf_destroy(&self->sql);
    strbuf_destroy(&self->names);
    free(self);
    *self_p = NULL;
}
