/*
 * tests/fuzz/fuzz_pgoutput.c
 *     libFuzzer target: the pgoutput decoder (agent/pgoutput.c), fed a
 *     stream of messages, since its Relation cache carries state from one
 *     message to the next.
 *
 * Input: records of a 2-byte big-endian length and that many bytes, each
 * one message (a last short record is decoded as what is left). Every
 * byte a decoded message points to is read, so that the sanitizer sees a
 * borrowed pointer past the input; every error must be one line.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/pgoutput.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A sink the compiler cannot drop the reads into. */
static volatile unsigned s_sink;

static void
s_touch(const char *p, size_t len)
{
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++)
    {
        sum += (unsigned char) p[i];
    }
    s_sink += sum;
}

/* Whether text holds a control character: its error would not be one
 * line (a table may be called "a<newline>b"). */
static bool
s_has_control(const char *text)
{
    for (const unsigned char *p = (const unsigned char *) text; *p != '\0'; p++)
    {
        if (*p < 0x20 || *p == 0x7f)
        {
            return true;
        }
    }
    return false;
}

static void
s_touch_tuple(const pgoutput_tuple_t *t)
{
    for (uint16_t i = 0; i < t->ncols; i++)
    {
        if (t->values[i].data != NULL)
        {
            s_touch(t->values[i].data, t->values[i].len);
        }
    }
}

static void
s_touch_relation(const pgoutput_relation_t *rel)
{
    s_touch(rel->nspname, strlen(rel->nspname));
    s_touch(rel->relname, strlen(rel->relname));
    for (uint16_t i = 0; i < rel->ncols; i++)
    {
        s_touch(rel->columns[i].name, strlen(rel->columns[i].name));
    }
}

static void
s_touch_msg(const pgoutput_t *dec, const pgoutput_msg_t *m)
{
    switch (m->type)
    {
        case PGOUTPUT_RELATION:
            s_touch_relation(m->relation);
            break;
        case PGOUTPUT_INSERT:
        case PGOUTPUT_UPDATE:
        case PGOUTPUT_DELETE:
            s_touch_relation(m->change.relation);
            if (m->change.old_kind != 0)
            {
                s_touch_tuple(&m->change.old_tuple);
            }
            s_touch_tuple(&m->change.new_tuple);
            break;
        case PGOUTPUT_TRUNCATE:
            for (uint32_t i = 0; i < m->truncate.nrelids; i++)
            {
                if (pgoutput_find_relation(dec, m->truncate.relids[i]) == NULL)
                {
                    abort(); /* the header promises each one is cached */
                }
            }
            break;
        case PGOUTPUT_ORIGIN:
            s_touch(m->origin.name, strlen(m->origin.name));
            break;
        case PGOUTPUT_TYPE:
            s_touch(m->pgtype.nspname, strlen(m->pgtype.nspname));
            s_touch(m->pgtype.name, strlen(m->pgtype.name));
            break;
        case PGOUTPUT_MESSAGE:
            s_touch(m->message.prefix, strlen(m->message.prefix));
            s_touch(m->message.content, m->message.len);
            break;
        default:
            break;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pgoutput_t *dec = pgoutput_new();
    size_t pos = 0;

    while (pos < size)
    {
        size_t len =
            size - pos >= 2 ? (size_t) data[pos] << 8 | data[pos + 1] : 0;
        pos += size - pos >= 2 ? 2 : size - pos;
        if (len > size - pos)
        {
            len = size - pos;
        }
        /* a copy of its own, so that a read past it is seen */
        char *msg_data = malloc(len ? len : 1);
        memcpy(msg_data, data + pos, len);
        pos += len;

        pgoutput_msg_t msg;
        if (pgoutput_decode(dec, msg_data, len, &msg) == 0)
        {
            s_touch_msg(dec, &msg);
        }
        else
        {
            const char *error = pgoutput_error(dec);
            if (error[0] == '\0' || s_has_control(error))
            {
                fprintf(stderr, "pgoutput error not on one line: \"%s\"\n",
                        error);
                abort();
            }
        }
        free(msg_data);
    }
    pgoutput_destroy(&dec);
    return 0;
}
