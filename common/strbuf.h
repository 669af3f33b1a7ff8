/*
 * common/strbuf.h
 *     A growable, always NUL-terminated string, for building SQL and
 *     messages. Allocation failure aborts: there is no sane recovery from
 *     running out of memory mid-sentence.
 */
#ifndef PGCONVOY_STRBUF_H
#define PGCONVOY_STRBUF_H

#include <stddef.h>

typedef struct strbuf_t strbuf_t;

strbuf_t *strbuf_new(void);
void strbuf_destroy(strbuf_t **self_p);

void strbuf_append(strbuf_t *self, const char *text);
void strbuf_append_len(strbuf_t *self, const char *data, size_t len);
void strbuf_appendf(strbuf_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void strbuf_reset(strbuf_t *self);
/* Appends text as one element of a PostgreSQL array literal being built
 * (the buffer holds "{" and the elements so far), quoted and escaped, for
 * a parameter such as $1::text[]. */
void strbuf_append_array_text(strbuf_t *self, const char *text);

/* A copy of text (allocated) with every control character written as
 * an escape (\n, \t, \x1b, ...): text from input kept on one line of a
 * message or a log. */
char *strbuf_escape_controls(const char *text);

/* Borrowed view, valid until the next change. */
const char *strbuf_data(const strbuf_t *self);
size_t strbuf_len(const strbuf_t *self);
/* Hands the string to the caller (free() it) and destroys the buffer. */
char *strbuf_finish(strbuf_t **self_p);

/* strdup() that aborts on failure, and accepts NULL. */
char *xstrdup(const char *text);
void *xcalloc(size_t count, size_t size);
/* asprintf() that aborts on failure. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
