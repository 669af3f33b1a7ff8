/*
 * coordinator/layout.h
 *     The catalog's layout (tables, triggers, indexes) and its version,
 *     for store.c, which opens the catalog.
 */
#ifndef PGCONVOY_COORDINATOR_LAYOUT_H
#define PGCONVOY_COORDINATOR_LAYOUT_H

#include <sqlite3.h>

/* 0 if db is new or of this layout (STORE_VERSION); -1, logged with
 * path and both versions, if not. */
int layout_check_version(sqlite3 *db, const char *path);

/* Creates what db lacks of the layout, and stamps its version. Returns
 * 0, or -1 with SQLite's message in *errmsg (sqlite3_free() it). */
int layout_apply(sqlite3 *db, char **errmsg);

#endif
