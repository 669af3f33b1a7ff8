/*
 * tests/fuzz/fuzz_copy_trim.c
 *     libFuzzer target: copy_trim_row() (agent/copy_trim.c) against a
 *     plain model of what it must do.
 *
 * Input: a byte giving the table's width (0 to 15 columns), two bytes
 * saying which columns are char(n) (bit i: column i), then one message
 * of a binary COPY. The model reads the message as a header (if it
 * starts with the signature) and one row of exactly that many fields;
 * when it is one, the trimmed message must be that row with the char(n)
 * fields' trailing blanks dropped, and otherwise the message unchanged.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/copy_trim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t
s_get32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 |
           (uint32_t) p[2] << 8 | (uint32_t) p[3];
}

/* The model: writes the expected message to out (room for len bytes)
 * and returns its length. */
static size_t
s_model(const uint8_t *msg, size_t len, int n, const bool *trim, uint8_t *out)
{
    size_t start = 0;
    size_t pos;
    size_t to;

    if (len >= 11 && memcmp(msg, "PGCOPY\n\377\r\n", 11) == 0)
    {
        if (len < 19 || s_get32(msg + 15) > len - 19)
        {
            goto unchanged;
        }
        start = 19 + s_get32(msg + 15);
    }
    if (len - start < 2 || (msg[start] << 8 | msg[start + 1]) != n)
    {
        goto unchanged;
    }
    /* first pass: the row must end exactly at the message's end */
    pos = start + 2;
    for (int i = 0; i < n; i++)
    {
        if (len - pos < 4)
        {
            goto unchanged;
        }
        uint32_t field = s_get32(msg + pos);
        pos += 4;
        if (field != UINT32_MAX)
        {
            if (field > len - pos)
            {
                goto unchanged;
            }
            pos += field;
        }
    }
    if (pos != len)
    {
        goto unchanged;
    }
    /* second pass: copy, dropping the blanks */
    memcpy(out, msg, start + 2);
    pos = start + 2;
    to = start + 2;
    for (int i = 0; i < n; i++)
    {
        uint32_t field = s_get32(msg + pos);
        uint32_t kept = field;

        if (field != UINT32_MAX && trim[i])
        {
            while (kept > 0 && msg[pos + 4 + kept - 1] == ' ')
            {
                kept--;
            }
        }
        out[to] = (uint8_t) (kept >> 24);
        out[to + 1] = (uint8_t) (kept >> 16);
        out[to + 2] = (uint8_t) (kept >> 8);
        out[to + 3] = (uint8_t) kept;
        if (field != UINT32_MAX)
        {
            memcpy(out + to + 4, msg + pos + 4, kept);
            pos += field;
            to += kept;
        }
        pos += 4;
        to += 4;
    }
    return to;

unchanged:
    memcpy(out, msg, len);
    return len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
    {
        return 0;
    }
    int n = data[0] % 16;
    Oid types[16];
    int typmods[16];
    bool trim[16];

    for (int i = 0; i < 16; i++)
    {
        trim[i] = ((data[1] << 8 | data[2]) >> i & 1) != 0;
        types[i] = trim[i] ? 1042 : 25;
        typmods[i] = trim[i] ? 4 + 10 : -1;
    }
    size_t len = size - 3;
    /* copies of their own, so that the sanitizer sees any read or write
     * past the message */
    uint8_t *msg = malloc(len ? len : 1);
    uint8_t *want = malloc(len ? len : 1);
    memcpy(msg, data + 3, len);

    copy_trim_t *trimmer = copy_trim_new_from_types(types, typmods, n);
    size_t want_len = s_model(data + 3, len, n, trim, want);
    size_t got_len = copy_trim_row(trimmer, (char *) msg, len);

    if (got_len != want_len || memcmp(msg, want, got_len) != 0 ||
        copy_trim_dropped(trimmer) != (int64_t) (len - got_len))
    {
        abort();
    }
    copy_trim_destroy(&trimmer);
    free(want);
    free(msg);
    return 0;
}
