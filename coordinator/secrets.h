/*
 * coordinator/secrets.h
 *     The passwords of the tasks created here, held in memory only.
 *
 * Never in the catalog, never in a log line: after a restart they are
 * gone, and the agents' own PGPASSWORD/.pgpass apply. Wiped when
 * forgotten.
 */
#ifndef PGFERRY_COORDINATOR_SECRETS_H
#define PGFERRY_COORDINATOR_SECRETS_H

#include <stdint.h>

typedef struct secrets_t secrets_t;

secrets_t *secrets_new(void);
/* Wipes and frees every password. */
void secrets_destroy(secrets_t **self_p);

/* Keeps copies of a task's passwords; NULL or "" keeps none. */
void secrets_put(secrets_t *self, int64_t task_id, const char *source_password,
                 const char *target_password);

/* A task's passwords (borrowed), NULL if none is held. */
const char *secrets_source(const secrets_t *self, int64_t task_id);
const char *secrets_target(const secrets_t *self, int64_t task_id);

/* Wipes a task's passwords. */
void secrets_forget(secrets_t *self, int64_t task_id);

#endif
