/*
 * coordinator/layout.c
 *     The catalog's layout: its tables, triggers and indexes, and the
 *     version number that says which pgconvoy wrote a catalog.
 *
 * A catalog of another layout is refused, never converted: its tasks are
 * finished by the pgconvoy that wrote it (layout_check_version()).
 */
#include "coordinator/layout.h"

#include "common/log.h"
#include "coordinator/store.h"

/* tables_ avoids the keyword. Passwords are never stored. */
static const char *const s_schema =
    "CREATE TABLE IF NOT EXISTS projects ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    "  source_platform TEXT NOT NULL, target_platform TEXT NOT NULL,"
    "  created_at TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS tasks ("
    "  id INTEGER PRIMARY KEY,"
    "  project_id INTEGER NOT NULL REFERENCES projects ON DELETE CASCADE,"
    "  name TEXT NOT NULL, task_type TEXT NOT NULL, state TEXT NOT NULL,"
    "  task_key TEXT NOT NULL,"
    "  src_host TEXT, src_port INTEGER, src_user TEXT, src_db TEXT,"
    "  tgt_host TEXT, tgt_port INTEGER, tgt_user TEXT, tgt_db TEXT,"
    /* the user's other libpq settings (sslmode, ...), as a conninfo
     * string (pgconn_options_conninfo): no secret is among them */
    "  src_options TEXT NOT NULL DEFAULT '',"
    "  tgt_options TEXT NOT NULL DEFAULT '',"
    "  source_version TEXT, target_version TEXT,"
    "  started_at TEXT, ended_at TEXT, error TEXT,"
    "  split_bytes INTEGER NOT NULL,"
    "  online INTEGER NOT NULL DEFAULT 0,"
    "  fix_replica_identity INTEGER NOT NULL DEFAULT 0,"
    "  no_owner INTEGER NOT NULL DEFAULT 0,"
    "  no_privileges INTEGER NOT NULL DEFAULT 0,"
    "  create_roles INTEGER NOT NULL DEFAULT 0,"
    "  role_passwords INTEGER NOT NULL DEFAULT 0,"
    "  no_analyze INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (project_id, name));"
    "CREATE TABLE IF NOT EXISTS databases ("
    "  id INTEGER PRIMARY KEY,"
    "  task_id INTEGER NOT NULL REFERENCES tasks ON DELETE CASCADE,"
    "  name TEXT NOT NULL, target_name TEXT NOT NULL,"
    "  selected TEXT NOT NULL DEFAULT '',"
    "  state TEXT NOT NULL, skip_schema INTEGER NOT NULL DEFAULT 0,"
    /* the exported snapshot copies read under, and the unit holding it */
    "  snapshot TEXT, snapshot_unit INTEGER,"
    "  started_at TEXT, ended_at TEXT, error TEXT,"
    /* online: the slot, where its stream starts, the cutover asked for,
     * and the cdc unit's latest report */
    "  slot TEXT, start_lsn INTEGER NOT NULL DEFAULT 0,"
    "  cutover INTEGER NOT NULL DEFAULT 0,"
    "  validate INTEGER NOT NULL DEFAULT 0,"
    "  end_lsn INTEGER NOT NULL DEFAULT 0,"
    "  received_lsn INTEGER NOT NULL DEFAULT 0,"
    "  applied_lsn INTEGER NOT NULL DEFAULT 0,"
    "  source_lsn INTEGER NOT NULL DEFAULT 0,"
    "  latency_ms INTEGER NOT NULL DEFAULT 0,"
    "  pending INTEGER NOT NULL DEFAULT 0,"
    "  slot_wal_bytes INTEGER NOT NULL DEFAULT 0,"
    /* a failure being waited out: the last one, since when, tries failed
     * in a row; NULL while all goes well */
    "  trouble TEXT, trouble_since TEXT,"
    "  trouble_retries INTEGER NOT NULL DEFAULT 0,"
    /* online: how often its full load started over, a snapshot lost */
    "  reloads INTEGER NOT NULL DEFAULT 0,"
    /* online, cleanup not done: its slot and publication are gone from
     * the source all the same (the target was out of reach) */
    "  source_stream_dropped INTEGER NOT NULL DEFAULT 0,"
    /* the sweeps over its tables (sweep.c): the next table id to visit,
     * NULL before the sweep starts, -1 once it is done */
    "  copy_sweep INTEGER, post_sweep INTEGER, analyze_sweep INTEGER,"
    /* when its last copy was in (advance.c): told once */
    "  loaded_at TEXT);"
    "CREATE TABLE IF NOT EXISTS tables_ ("
    "  id INTEGER PRIMARY KEY,"
    "  database_id INTEGER NOT NULL REFERENCES databases ON DELETE CASCADE,"
    "  schema_name TEXT NOT NULL, table_name TEXT NOT NULL,"
    "  bytes_est INTEGER NOT NULL DEFAULT 0,"
    "  rows_est INTEGER NOT NULL DEFAULT 0,"
    "  binary_ok INTEGER NOT NULL DEFAULT 0, columns TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'QUEUED',"
    "  rows INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,"
    "  started_at TEXT, ended_at TEXT, error TEXT,"
    "  agents TEXT NOT NULL DEFAULT '',"
    "  pages INTEGER NOT NULL DEFAULT 0, parts INTEGER NOT NULL DEFAULT 1,"
    /* its copy may analyze it (TableRef.analyze_early) */
    "  analyze_early INTEGER NOT NULL DEFAULT 0,"
    "  cdc_ins INTEGER NOT NULL DEFAULT 0,"
    "  cdc_upd INTEGER NOT NULL DEFAULT 0,"
    "  cdc_del INTEGER NOT NULL DEFAULT 0,"
    /* cutover --validate: how the two sides differ, NULL if they do not */
    "  differs TEXT);"
    /* a task's passwords, sealed under the coordinator's key (secrets.c);
     * only with --secrets-key */
    "CREATE TABLE IF NOT EXISTS task_secrets ("
    "  task_id INTEGER PRIMARY KEY REFERENCES tasks ON DELETE CASCADE,"
    "  sealed TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS schema_items ("
    "  id INTEGER PRIMARY KEY,"
    "  database_id INTEGER NOT NULL REFERENCES databases ON DELETE CASCADE,"
    "  kind TEXT NOT NULL, tag TEXT NOT NULL, sql TEXT NOT NULL,"
    "  phase INTEGER NOT NULL, table_schema TEXT, table_name TEXT,"
    "  loose INTEGER NOT NULL DEFAULT 0);"
    /* schema-pre's items as its result gave them, ITEMS_CHUNK to a
     * row (packed Results that hold only them), written into
     * schema_items a row at a time and deleted then (items.c) */
    "CREATE TABLE IF NOT EXISTS staged_items ("
    "  id INTEGER PRIMARY KEY,"
    "  database_id INTEGER NOT NULL REFERENCES databases ON DELETE CASCADE,"
    "  items BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS units ("
    "  id INTEGER PRIMARY KEY,"
    "  task_id INTEGER NOT NULL REFERENCES tasks ON DELETE CASCADE,"
    "  database_id INTEGER NOT NULL REFERENCES databases ON DELETE CASCADE,"
    "  kind INTEGER NOT NULL,"
    "  table_id INTEGER REFERENCES tables_ ON DELETE CASCADE,"
    "  item_id INTEGER REFERENCES schema_items ON DELETE CASCADE,"
    "  state TEXT NOT NULL DEFAULT 'queued',"
    "  priority INTEGER NOT NULL, weight INTEGER NOT NULL DEFAULT 0,"
    "  agent TEXT, attempts INTEGER NOT NULL DEFAULT 0,"
    "  assigned_at REAL, error TEXT,"
    "  started INTEGER NOT NULL DEFAULT 0,"
    "  part INTEGER NOT NULL DEFAULT 0,"
    "  first_page INTEGER NOT NULL DEFAULT 0,"
    "  last_page INTEGER NOT NULL DEFAULT 0,"
    "  rows INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,"
    /* placed in a batch: the batch's first unit (its own id alone) */
    "  batch INTEGER,"
    /* the agent's placement (agents.placements) that sent it there */
    "  placement INTEGER NOT NULL DEFAULT 0,"
    /* tried again after a transient failure: not placed before this
     * (Unix time, ms) */
    "  not_before INTEGER NOT NULL DEFAULT 0,"
    /* its placements so far, never counted down: the fencing epoch a
     * placement's writes on the target carry (Assign.epoch) */
    "  epoch INTEGER NOT NULL DEFAULT 0);"
    /*
     * How many units of each kind are in each state, per database, kept
     * by triggers in the same transaction as the units: the planner asks
     * "how many copies are left" on every result, and must not count.
     */
    "CREATE TABLE IF NOT EXISTS unit_counts ("
    "  database_id INTEGER NOT NULL REFERENCES databases ON DELETE CASCADE,"
    "  kind INTEGER NOT NULL, state TEXT NOT NULL, n INTEGER NOT NULL,"
    "  PRIMARY KEY (database_id, kind, state)) WITHOUT ROWID;"
    "CREATE TRIGGER IF NOT EXISTS units_counted AFTER INSERT ON units BEGIN"
    "  INSERT INTO unit_counts VALUES (NEW.database_id, NEW.kind, NEW.state, 1)"
    "    ON CONFLICT DO UPDATE SET n = n + 1;"
    "END;"
    "CREATE TRIGGER IF NOT EXISTS units_recounted AFTER UPDATE OF state ON units"
    "  WHEN OLD.state <> NEW.state BEGIN"
    "  UPDATE unit_counts SET n = n - 1 WHERE database_id = OLD.database_id"
    "    AND kind = OLD.kind AND state = OLD.state;"
    "  INSERT INTO unit_counts VALUES (NEW.database_id, NEW.kind, NEW.state, 1)"
    "    ON CONFLICT DO UPDATE SET n = n + 1;"
    "END;"
    "CREATE TRIGGER IF NOT EXISTS units_uncounted AFTER DELETE ON units BEGIN"
    "  UPDATE unit_counts SET n = n - 1 WHERE database_id = OLD.database_id"
    "    AND kind = OLD.kind AND state = OLD.state;"
    "END;"
    "CREATE TABLE IF NOT EXISTS agents ("
    "  name TEXT PRIMARY KEY, labels TEXT NOT NULL, jobs INTEGER NOT NULL,"
    "  first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,"
    /* the agent process's random id (Hello.incarnation), and the number
     * of placements made on the agent, whatever its incarnation */
    "  incarnation INTEGER NOT NULL DEFAULT 0,"
    "  placements INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS events ("
    "  id INTEGER PRIMARY KEY, at TEXT NOT NULL, task_id INTEGER,"
    "  level TEXT NOT NULL, message TEXT NOT NULL);"
    /*
     * Every lookup that runs per message or per unit has its index, so
     * that its cost follows what it finds, not the number of units. The
     * queue's order is the dispatcher's ORDER BY (rowid ascending ends
     * every index), so the next unit is the first entry, never a sort.
     *
     * And every index of units is one more page written to the WAL when
     * a unit moves: writes were most of the coordinator's time at 100
     * agents. So the queue and the running units are partial indexes,
     * changed only when a unit enters or leaves that state, and only
     * units_by_database holds the state of every unit (the task's units
     * are found through its databases).
     */
    "CREATE INDEX IF NOT EXISTS units_queue"
    "  ON units (priority DESC, weight DESC) WHERE state = 'queued';"
    "CREATE INDEX IF NOT EXISTS units_queued_kind"
    "  ON units (kind) WHERE state = 'queued';"
    "CREATE INDEX IF NOT EXISTS units_running"
    "  ON units (agent) WHERE state = 'running';"
    "CREATE INDEX IF NOT EXISTS units_by_database"
    "  ON units (database_id, kind, state);"
    "CREATE INDEX IF NOT EXISTS units_by_table"
    "  ON units (table_id) WHERE table_id IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS units_by_item"
    "  ON units (item_id) WHERE item_id IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS tables_by_name"
    "  ON tables_ (database_id, schema_name, table_name);"
    "CREATE INDEX IF NOT EXISTS tables_by_state ON tables_ (database_id, state);"
    /* a database's tables in id order, from any id on: a sweep's chunk
     * (sweep.c) reads its 64 rows, not every table and a sort */
    "CREATE INDEX IF NOT EXISTS tables_by_database ON tables_ (database_id);"
    "CREATE INDEX IF NOT EXISTS items_by_table"
    "  ON schema_items (database_id, table_schema, table_name, phase);"
    /* no index of items by phase: the two reads by phase (all of a
     * database's builds left once its load is done, finalize's items)
     * run once per database, while each index costs every item's
     * insert (items_by_phase: 40% of it) */
    /* the few items of no table copied, built once the load is done:
     * found without reading the 80,000 of the tables that are */
    "CREATE INDEX IF NOT EXISTS items_loose"
    "  ON schema_items (database_id) WHERE loose <> 0;"
    "CREATE INDEX IF NOT EXISTS staged_by_database"
    "  ON staged_items (database_id);"
    "CREATE INDEX IF NOT EXISTS databases_by_task ON databases (task_id);"
    "CREATE INDEX IF NOT EXISTS tasks_by_project ON tasks (project_id);"
    "CREATE INDEX IF NOT EXISTS events_by_task ON events (task_id);";

int
layout_check_version(sqlite3 *db, const char *path)
{
    sqlite3_stmt *stmt = NULL;
    int version = -1;
    int tables = 0;

    if (sqlite3_prepare_v2(db,
                           "SELECT (SELECT user_version FROM "
                           "pragma_user_version), (SELECT count(*) FROM "
                           "sqlite_master WHERE type = 'table')",
                           -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
    {
        version = sqlite3_column_int(stmt, 0);
        tables = sqlite3_column_int(stmt, 1);
    }
    sqlite3_finalize(stmt);
    if (tables == 0 || version == STORE_VERSION)
    {
        return 0;
    }
    log_error("file=%s the catalog has layout version %d, this pgconvoy "
              "reads version %d: finish its tasks with the pgconvoy that "
              "wrote it, or start with an empty state directory",
              path, version, STORE_VERSION);
    return -1;
}

/* One transaction: each statement on its own would be a commit and a
 * sync of its own, about 40 of them, and a coordinator started beside a
 * busy database (a migration's target, writing back) waited 0.3 s for
 * them before it listened. */
int
layout_apply(sqlite3 *db, char **errmsg)
{
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, errmsg) != SQLITE_OK)
    {
        return -1;
    }
    if (sqlite3_exec(db, s_schema, NULL, NULL, errmsg) != SQLITE_OK ||
        sqlite3_exec(db,
                     "PRAGMA user_version = " STORE_VERSION_TEXT "; COMMIT",
                     NULL, NULL, errmsg) != SQLITE_OK)
    {
        (void) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}
