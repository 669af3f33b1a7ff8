/*
 * coordinator/secrets.c
 *     Tasks' passwords in memory, wiped when forgotten; sealed in the
 *     catalog under the coordinator's key, if it has one.
 *
 * A sealed row is hex(nonce | secretbox(source password, NUL, target
 * password)): one box per task, so that nothing tells which side has a
 * password or how long it is but the box's length.
 */
#include "coordinator/secrets.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strbuf.h"

typedef struct
{
    int64_t task_id;
    char *source_password; /* owned, may be NULL */
    char *target_password; /* owned, may be NULL */
} secrets_task_t;

struct secrets_t
{
    secrets_task_t *tasks; /* owned; a task appears at most once */
    size_t count;
    store_t *store; /* borrowed: where sealed pairs go; NULL: memory only */
    unsigned char key[crypto_secretbox_KEYBYTES]; /* if store is set */
};

secrets_t *
secrets_new(void)
{
    return xcalloc(1, sizeof(secrets_t));
}

static void
s_wipe(char **secret)
{
    if (*secret != NULL)
    {
        memset(*secret, 0, strlen(*secret));
        free(*secret);
        *secret = NULL;
    }
}

void
secrets_destroy(secrets_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    secrets_t *self = *self_p;
    while (self->count > 0)
    {
        secrets_forget(self, self->tasks[0].task_id);
    }
    free(self->tasks);
    sodium_memzero(self->key, sizeof self->key);
    free(self);
    *self_p = NULL;
}

/* Reads the key: exactly its size, from a file only its owner reads. */
static int
s_read_key(const char *key_file, unsigned char *key)
{
    struct stat st;
    unsigned char extra = 0;
    int fd = open(key_file, O_RDONLY | O_CLOEXEC);
    int rc = -1;

    if (fd < 0 || fstat(fd, &st) != 0)
    {
        log_error("file=%s cannot read the secrets key: %s", key_file,
                  strerror(errno));
    }
    else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    {
        log_error("file=%s the secrets key can be read by others (mode "
                  "%03o): expected mode 600 or 400",
                  key_file, (unsigned) (st.st_mode & 0777));
    }
    else if (read(fd, key, crypto_secretbox_KEYBYTES) !=
                 (ssize_t) crypto_secretbox_KEYBYTES ||
             read(fd, &extra, 1) != 0)
    {
        log_error("file=%s the secrets key is not %d bytes: expected "
                  "what 'head -c %d /dev/urandom' writes",
                  key_file, crypto_secretbox_KEYBYTES,
                  crypto_secretbox_KEYBYTES);
    }
    else
    {
        rc = 0;
    }
    if (fd >= 0)
    {
        close(fd);
    }
    return rc;
}

/* Seals a task's pair into the catalog (replacing an older one). */
static void
s_seal(secrets_t *self, int64_t task_id, const char *source_password,
       const char *target_password)
{
    size_t src_len = source_password ? strlen(source_password) : 0;
    size_t tgt_len = target_password ? strlen(target_password) : 0;
    size_t plain_len = src_len + 1 + tgt_len;
    size_t sealed_len =
        crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain_len;
    unsigned char *plain = xcalloc(plain_len, 1);
    unsigned char *sealed = xcalloc(sealed_len, 1);
    char *hex = xcalloc(2 * sealed_len + 1, 1);

    memcpy(plain, source_password ? source_password : "", src_len);
    memcpy(plain + src_len + 1, target_password ? target_password : "",
           tgt_len);
    randombytes_buf(sealed, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(sealed + crypto_secretbox_NONCEBYTES, plain,
                          plain_len, sealed, self->key);
    sodium_bin2hex(hex, 2 * sealed_len + 1, sealed, sealed_len);
    if (store_exec(self->store,
                   "INSERT OR REPLACE INTO task_secrets (task_id, sealed) "
                   "VALUES (?, ?)",
                   "is", task_id, hex) != 0)
    {
        log_warn("task=%" PRId64 " could not keep its passwords sealed in "
                 "the catalog: a restart will forget them",
                 task_id);
    }
    sodium_memzero(plain, plain_len);
    free(plain);
    free(sealed);
    free(hex);
}

/* Opens one sealed pair into memory. Returns 0, or -1 (not ours). */
static int
s_open(secrets_t *self, int64_t task_id, const char *hex)
{
    size_t hex_len = strlen(hex);
    size_t sealed_len = hex_len / 2;
    unsigned char *sealed = xcalloc(sealed_len + 1, 1);
    unsigned char *plain = xcalloc(sealed_len + 1, 1);
    size_t got = 0;
    int rc = -1;

    if (sodium_hex2bin(sealed, sealed_len, hex, hex_len, NULL, &got, NULL) ==
            0 &&
        got == sealed_len &&
        sealed_len > crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES &&
        crypto_secretbox_open_easy(
            plain, sealed + crypto_secretbox_NONCEBYTES,
            sealed_len - crypto_secretbox_NONCEBYTES, sealed, self->key) == 0)
    {
        size_t plain_len = sealed_len - crypto_secretbox_NONCEBYTES -
                           crypto_secretbox_MACBYTES;
        /* plain is NUL-padded past plain_len: both halves end */
        const char *source_password = (const char *) plain;
        size_t src_len = strnlen(source_password, plain_len);
        if (src_len < plain_len)
        {
            store_t *store = self->store;
            self->store = NULL; /* in memory only: it is sealed already */
            secrets_put(self, task_id, source_password,
                        (const char *) plain + src_len + 1);
            self->store = store;
            rc = 0;
        }
    }
    sodium_memzero(plain, sealed_len + 1);
    free(plain);
    free(sealed);
    return rc;
}

int
secrets_check_key(const char *key_file)
{
    unsigned char key[crypto_secretbox_KEYBYTES];
    int rc = s_read_key(key_file, key);

    sodium_memzero(key, sizeof key);
    return rc;
}

int
secrets_seal_with(secrets_t *self, store_t *store, const char *key_file)
{
    store_rows_t *rows = NULL;
    int rc = 0;

    if (sodium_init() < 0 || s_read_key(key_file, self->key) != 0)
    {
        return -1;
    }
    self->store = store;
    rows = store_query(store, "SELECT task_id, sealed FROM task_secrets",
                       NULL);
    while (store_rows_next(rows))
    {
        int64_t task_id = store_rows_int(rows, 0);
        if (s_open(self, task_id, store_rows_text(rows, 1)) != 0)
        {
            log_error("file=%s task=%" PRId64 " cannot open its sealed "
                      "passwords: they were sealed with another key",
                      key_file, task_id);
            rc = -1;
        }
    }
    store_rows_done(&rows);
    return rc;
}

static secrets_task_t *
s_find(const secrets_t *self, int64_t task_id)
{
    for (size_t i = 0; i < self->count; i++)
    {
        if (self->tasks[i].task_id == task_id)
        {
            return &self->tasks[i];
        }
    }
    return NULL;
}

void
secrets_put(secrets_t *self, int64_t task_id, const char *source_password,
            const char *target_password)
{
    secrets_task_t *grown = NULL;

    secrets_forget(self, task_id);
    grown = realloc(self->tasks, (self->count + 1) * sizeof *grown);
    if (grown == NULL)
    {
        abort();
    }
    self->tasks = grown;
    self->tasks[self->count].task_id = task_id;
    self->tasks[self->count].source_password =
        source_password && source_password[0] ? xstrdup(source_password) : NULL;
    self->tasks[self->count].target_password =
        target_password && target_password[0] ? xstrdup(target_password) : NULL;
    self->count++;
    if (self->store != NULL &&
        (self->tasks[self->count - 1].source_password != NULL ||
         self->tasks[self->count - 1].target_password != NULL))
    {
        s_seal(self, task_id, source_password, target_password);
    }
}

const char *
secrets_source(const secrets_t *self, int64_t task_id)
{
    const secrets_task_t *t = s_find(self, task_id);
    return t ? t->source_password : NULL;
}

const char *
secrets_target(const secrets_t *self, int64_t task_id)
{
    const secrets_task_t *t = s_find(self, task_id);
    return t ? t->target_password : NULL;
}

void
secrets_forget(secrets_t *self, int64_t task_id)
{
    secrets_task_t *t = s_find(self, task_id);

    if (t != NULL)
    {
        s_wipe(&t->source_password);
        s_wipe(&t->target_password);
        *t = self->tasks[--self->count];
    }
    if (self->store != NULL)
    {
        (void) store_exec(self->store,
                          "DELETE FROM task_secrets WHERE task_id = ?", "i",
                          task_id);
    }
}
