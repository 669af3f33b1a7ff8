/*
 * cli/view.h
 *     The screen of `pgconvoy task watch` on a terminal: a header, then per
 *     database its state, bars for tables and bytes, rate and ETA, and in
 *     change data capture the lag with its recent history; then the tables
 *     that matter most, as many as fit.
 *
 * A pure function of the statuses sampled so far and the terminal's size:
 * it reads no clock and writes to no terminal (term.c does), so a test can
 * check a screen to the character.
 */
#ifndef PGCONVOY_CLI_VIEW_H
#define PGCONVOY_CLI_VIEW_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

/* samples kept per database: the lag history and the current rates */
#define VIEW_HISTORY 64

typedef struct view_t view_t;

/* utf8: bars and sparklines of Unicode blocks, else of ASCII. */
view_t *view_new(bool utf8);
void view_destroy(view_t **self_p);

/* Remembers each database's copied bytes, changes applied and lag in
 * status (borrowed), read at now_ms (any clock that never goes back). The
 * rates are worked out from these samples, not from the clock. */
void view_add_sample(view_t *self, json_object *status, int64_t now_ms);

/*
 * The screen for status (a full one, with its tables; borrowed) and agents
 * (the agent list's JSON, or NULL; borrowed): at most rows lines of at
 * most cols columns, each ending in '\n'. The caller frees it.
 */
char *view_render(const view_t *self, json_object *status, json_object *agents,
                  int rows, int cols);

#endif
