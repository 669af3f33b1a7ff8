/*
 * tests/unit/test_strbuf.c
 *     Growable strings: appends, growth past many doublings, formatting.
 */
#include <stdlib.h>

#include "check.h"
#include "common/strbuf.h"

int
main(void)
{
    strbuf_t *buf = strbuf_new();

    CHECK(strbuf_len(buf) == 0 && strcmp(strbuf_data(buf), "") == 0);
    strbuf_append(buf, "abc");
    strbuf_append_len(buf, "\0def", 4); /* embedded NUL kept by length */
    CHECK(strbuf_len(buf) == 7);
    strbuf_reset(buf);
    for (int i = 0; i < 10000; i++)
    {
        strbuf_appendf(buf, "%d,", i % 10);
    }
    CHECK(strbuf_len(buf) == 20000);
    CHECK(strncmp(strbuf_data(buf), "0,1,2,", 6) == 0);
    CHECK(strbuf_data(buf)[20000] == '\0');
    char *owned = strbuf_finish(&buf);
    CHECK(buf == NULL);
    CHECK(strlen(owned) == 20000);
    free(owned);

    /* array literal elements: always quoted, " and \ escaped, the
     * separator only between elements */
    strbuf_t *array = strbuf_new();
    strbuf_append(array, "{");
    strbuf_append_array_text(array, "plain");
    strbuf_append_array_text(array, "a \"quoted\", name");
    strbuf_append_array_text(array, "back\\slash");
    strbuf_append_array_text(array, "");
    strbuf_append(array, "}");
    CHECK(
        strcmp(
            strbuf_data(array),
            "{\"plain\",\"a \\\"quoted\\\", name\",\"back\\\\slash\",\"\"}") ==
        0);
    strbuf_destroy(&array);

    char *s = xasprintf("%s=%d", "port", 5432);
    CHECK(strcmp(s, "port=5432") == 0);
    free(s);
    CHECK(xstrdup(NULL) == NULL);
    s = strbuf_escape_controls("a\nb\r\tc\x1b\x7f \xc3\xa9");
    CHECK(strcmp(s, "a\\nb\\r\\tc\\x1b\\x7f \xc3\xa9") == 0);
    free(s);
    strbuf_destroy(&buf); /* NULL-safe */
    puts("test_strbuf: ok");
    return 0;
}
