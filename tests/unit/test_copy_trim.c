/*
 * tests/unit/test_copy_trim.c
 *     char(n) fields of binary COPY rows lose their trailing blanks, and
 *     nothing else changes: other columns, NULLs, the header, the trailer
 *     and every message that is not exactly one row of the table's width.
 */
#include <stdint.h>
#include <string.h>

#include "agent/copy_trim.h"
#include "check.h"

#define BPCHAR 1042
#define TEXT 25
#define INT4 23

/* A message under construction */
typedef struct
{
    char data[512];
    size_t len;
} msg_t;

static void
s_add(msg_t *m, const void *bytes, size_t len)
{
    CHECK(m->len + len <= sizeof m->data);
    memcpy(m->data + m->len, bytes, len);
    m->len += len;
}

static void
s_add16(msg_t *m, int v)
{
    unsigned char b[2] = {(unsigned char) (v >> 8), (unsigned char) v};
    s_add(m, b, 2);
}

static void
s_add32(msg_t *m, int32_t v)
{
    uint32_t u = (uint32_t) v;
    unsigned char b[4] = {(unsigned char) (u >> 24), (unsigned char) (u >> 16),
                          (unsigned char) (u >> 8), (unsigned char) u};
    s_add(m, b, 4);
}

/* A field: text, or NULL for SQL's NULL. */
static void
s_field(msg_t *m, const char *text)
{
    if (text == NULL)
    {
        s_add32(m, -1);
        return;
    }
    s_add32(m, (int32_t) strlen(text));
    s_add(m, text, strlen(text));
}

static void
s_header(msg_t *m, int32_t extension)
{
    s_add(m, "PGCOPY\n\377\r\n\0", 11);
    s_add32(m, 0);
    s_add32(m, extension);
    for (int32_t i = 0; i < extension; i++)
    {
        s_add(m, "x", 1);
    }
}

/* Trims got and checks it is now want, byte for byte. */
static void
s_check_trim(copy_trim_t *trim, msg_t *got, const msg_t *want)
{
    size_t len = copy_trim_row(trim, got->data, got->len);

    CHECK_EQ_INT(len, want->len);
    CHECK(memcmp(got->data, want->data, len) == 0);
}

int
main(void)
{
    /* (id int4, code char(12), note text, pad char(5), raw bpchar) */
    const Oid types[5] = {INT4, BPCHAR, TEXT, BPCHAR, BPCHAR};
    const int typmods[5] = {-1, 12 + 4, -1, 5 + 4, -1};
    copy_trim_t *trim = copy_trim_new_from_types(types, typmods, 5);

    CHECK(copy_trim_is_useful(trim));

    /* the first message: header, then a row; blanks kept in text and in
     * bpchar without a length, inner and leading blanks kept */
    {
        msg_t got = {0}, want = {0};

        s_header(&got, 0);
        s_add16(&got, 5);
        s_add32(&got, 4);
        s_add(&got, "\x00\x00\x00\x07", 4);
        s_field(&got, " a b        ");
        s_field(&got, "note   ");
        s_field(&got, "é    ");
        s_field(&got, "raw  ");

        s_header(&want, 0);
        s_add16(&want, 5);
        s_add32(&want, 4);
        s_add(&want, "\x00\x00\x00\x07", 4);
        s_field(&want, " a b");
        s_field(&want, "note   ");
        s_field(&want, "é");
        s_field(&want, "raw  ");
        s_check_trim(trim, &got, &want);
        CHECK_EQ_INT(copy_trim_dropped(trim), 8 + 4);
    }

    /* NULLs, an all-blank value (becomes empty), an empty one, a header
     * with an extension */
    {
        msg_t got = {0}, want = {0};

        s_header(&got, 3);
        s_add16(&got, 5);
        s_field(&got, NULL);
        s_field(&got, "            ");
        s_field(&got, NULL);
        s_field(&got, "");
        s_field(&got, NULL);

        s_header(&want, 3);
        s_add16(&want, 5);
        s_field(&want, NULL);
        s_field(&want, "");
        s_field(&want, NULL);
        s_field(&want, "");
        s_field(&want, NULL);
        s_check_trim(trim, &got, &want);
    }

    /* a row with nothing to drop is left as it is */
    {
        msg_t got = {0}, want = {0};

        s_add16(&got, 5);
        s_field(&got, "1234");
        s_field(&got, "abcdefghijkl");
        s_field(&got, "  ");
        s_field(&got, "abcde");
        s_field(&got, " ");
        want = got;
        s_check_trim(trim, &got, &want);
    }

    /* what is not exactly one row of 5 fields passes unchanged: the
     * trailer, another width, a length past the end, bytes after the
     * row, a header cut short */
    {
        msg_t cases[5];

        memset(cases, 0, sizeof cases);

        s_add16(&cases[0], -1);

        s_add16(&cases[1], 2);
        s_field(&cases[1], "1234");
        s_field(&cases[1], "ab   ");

        s_add16(&cases[2], 5);
        s_field(&cases[2], "1234");
        s_add32(&cases[2], 400);
        s_add(&cases[2], "ab   ", 5);

        s_add16(&cases[3], 5);
        s_field(&cases[3], "1234");
        s_field(&cases[3], "ab   ");
        s_field(&cases[3], "c");
        s_field(&cases[3], "d  ");
        s_field(&cases[3], "e");
        s_add(&cases[3], "  ", 2);

        s_add(&cases[4], "PGCOPY\n\377\r\n\0\0\0", 13);

        for (int i = 0; i < 5; i++)
        {
            msg_t want = cases[i];
            s_check_trim(trim, &cases[i], &want);
        }
    }
    copy_trim_destroy(&trim);
    CHECK(trim == NULL);
    copy_trim_destroy(&trim);

    /* no char(n) column: nothing to do */
    {
        const Oid other[3] = {TEXT, BPCHAR, 1014 /* bpchar[] */};
        const int mods[3] = {-1, -1, 12 + 4};
        copy_trim_t *none = copy_trim_new_from_types(other, mods, 3);

        CHECK(!copy_trim_is_useful(none));
        copy_trim_destroy(&none);
    }
    printf("copy_trim: ok\n");
    return 0;
}
