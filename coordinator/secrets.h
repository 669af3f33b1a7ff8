/*
 * coordinator/secrets.h
 *     The passwords of the tasks created here: in memory, and sealed in
 *     the catalog when the coordinator has a key.
 *
 * Never in clear in the catalog, never in a log line. Without a key
 * (--secrets-key) they are gone after a restart, and the agents' own
 * PGPASSWORD/.pgpass apply. With one, each task's pair is sealed
 * (libsodium's secretbox: XSalsa20-Poly1305, a random nonce each) into
 * task_secrets and opened again when the coordinator starts: a task
 * goes on after a restart with the passwords it was given. Wiped when
 * forgotten.
 */
#ifndef PGCONVOY_COORDINATOR_SECRETS_H
#define PGCONVOY_COORDINATOR_SECRETS_H

#include <stdint.h>

typedef struct secrets_t secrets_t;

#include "coordinator/store.h"

secrets_t *secrets_new(void);

/*
 * From now on, seals every task's passwords into store's task_secrets
 * with the 32-byte key in key_file (which group and others must not
 * read), and opens those sealed before. Returns 0, or -1 (logged, naming
 * the file): a key that is not that file's, or a row it cannot open.
 */
int secrets_seal_with(secrets_t *self, store_t *store, const char *key_file);

/* Whether key_file holds a key secrets_seal_with() takes: 0, or -1
 * (logged, saying what is wrong). Reads nothing else, writes nothing. */
int secrets_check_key(const char *key_file);
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
