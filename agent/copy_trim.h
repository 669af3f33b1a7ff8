/*
 * agent/copy_trim.h
 *     The values of a binary COPY's char(n) columns sent to the target
 *     without their trailing blanks.
 *
 * Why: a char(n) value is stored, and sent by the source, padded with
 * blanks to n characters; the target's receive function counts the
 * characters of what it gets, one multibyte step at a time, and pads it
 * back to n. Sent without the blanks, the value is stored the same,
 * byte for byte, while the target counts and the wire carries only what
 * is not padding: pgbench_accounts' char(84) made a third of its rows'
 * bytes and a sixth of its COPY's time on the target.
 *
 * The same whatever the value: for a column of type char(n) on the target
 * (type bpchar, a length given), bpchar's input pads what it gets to n
 * characters, and refuses a value longer than n unless all that is past n
 * is blanks, which it then drops. So 'ab' and 'ab' + blanks store the
 * same, and a value refused one way is refused the other. Only the
 * target's type decides: a text or varchar column, a bpchar column
 * without a length (kept as sent), a domain or an array is left alone.
 * A blank is the byte 0x20, which no server encoding uses inside a
 * multibyte character.
 */
#ifndef PGCONVOY_AGENT_COPY_TRIM_H
#define PGCONVOY_AGENT_COPY_TRIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

typedef struct copy_trim_t copy_trim_t;

/*
 * Reads, in tgt's open transaction, the types of the columns (quoted,
 * comma separated, as a COPY's column list) of the table qualified
 * ("schema"."name", quoted) as the target has them. Returns a trimmer, or
 * NULL with *error set. One without any char(n) column trims nothing
 * (copy_trim_is_useful() says so).
 */
copy_trim_t *copy_trim_new(PGconn *tgt, const char *qualified,
                           const char *columns, char **error);

/* The same from the columns' types and typmods, as PQftype() and
 * PQfmod() give them (for tests). */
copy_trim_t *copy_trim_new_from_types(const Oid *types, const int *typmods,
                                      int n);

void copy_trim_destroy(copy_trim_t **self_p);

/* Whether any column is char(n). */
bool copy_trim_is_useful(const copy_trim_t *self);

/*
 * Drops the trailing blanks of the char(n) fields of one message of a
 * binary COPY TO: a row, the file's header followed by the first row, or
 * the trailer. Returns the message's new length (len when nothing was
 * dropped). A message that is not exactly one such row, of as many
 * fields as the columns, is left as it is.
 */
size_t copy_trim_row(copy_trim_t *self, char *msg, size_t len);

/* Bytes dropped so far. */
int64_t copy_trim_dropped(const copy_trim_t *self);

#endif
