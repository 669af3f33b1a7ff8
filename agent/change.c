/*
 * agent/change.c
 *     Copies of decoded changes that outlive their message.
 *
 * Layout of the one allocation: change_t, then the old tuple's values,
 * the new tuple's, then every value's bytes (text ones NUL-terminated).
 */
#include "agent/change.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

/* Bytes the values of tuple take in the copy. */
static size_t
s_tuple_size(const pgoutput_tuple_t *tuple)
{
    size_t size = (size_t) tuple->ncols * sizeof(pgoutput_value_t);

    for (uint16_t i = 0; i < tuple->ncols; i++)
    {
        size += tuple->values[i].len + 1;
    }
    return size;
}

/* Copies tuple's values to *values and their bytes to *data, moving both
 * on; into points at the copied values. */
static void
s_tuple_copy(const pgoutput_tuple_t *tuple, pgoutput_tuple_t *into,
             pgoutput_value_t **values, char **data)
{
    into->ncols = tuple->ncols;
    into->values = tuple->ncols > 0 ? *values : NULL;
    for (uint16_t i = 0; i < tuple->ncols; i++)
    {
        const pgoutput_value_t *v = &tuple->values[i];
        pgoutput_value_t *copy = &(*values)[i];

        *copy = *v;
        if (v->data != NULL)
        {
            memcpy(*data, v->data, v->len);
            (*data)[v->len] = '\0';
            copy->data = *data;
            *data += v->len + 1;
        }
    }
    *values += tuple->ncols;
}

change_t *
change_new(pgoutput_msg_type_t type, const pgoutput_change_t *c, uint64_t lsn)
{
    assert(type == PGOUTPUT_INSERT || type == PGOUTPUT_UPDATE ||
           type == PGOUTPUT_DELETE);
    size_t size = sizeof(change_t) + s_tuple_size(&c->old_tuple) +
                  s_tuple_size(&c->new_tuple);
    change_t *self = xcalloc(1, size);
    pgoutput_value_t *values = (pgoutput_value_t *) (self + 1);
    char *data = (char *) (values + c->old_tuple.ncols + c->new_tuple.ncols);

    self->type = type;
    self->lsn = lsn;
    self->size = size;
    self->change.old_kind = c->old_kind;
    s_tuple_copy(&c->old_tuple, &self->change.old_tuple, &values, &data);
    s_tuple_copy(&c->new_tuple, &self->change.new_tuple, &values, &data);
    return self;
}

void
change_destroy(change_t **self_p)
{
    assert(self_p != NULL);
    free(*self_p);
    *self_p = NULL;
}
