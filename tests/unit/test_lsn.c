/*
 * tests/unit/test_lsn.c
 *     LSNs: printed as %X/%08X, parsed in that form and as %X/%X, and
 *     nothing else parsed.
 */
#include <stdint.h>

#include "check.h"
#include "common/lsn.h"

static void
s_check_format(uint64_t lsn, const char *want)
{
    char buf[LSN_BUFSIZE];
    uint64_t back = 0;

    CHECK(lsn_format(lsn, buf) == buf);
    if (strcmp(buf, want) != 0)
    {
        fprintf(stderr, "lsn_format: got %s, want %s\n", buf, want);
        exit(1);
    }
    CHECK(lsn_parse(buf, &back) == 0 && back == lsn);
}

static void
s_test_format(void)
{
    char buf[64];

    s_check_format(0, "0/00000000");
    s_check_format(UINT64_C(0x16B374D848), "16/B374D848");
    s_check_format(UINT64_C(0x1533128), "0/01533128");
    s_check_format(UINT64_MAX, "FFFFFFFF/FFFFFFFF");
    CHECK(strlen(lsn_format(UINT64_MAX, buf)) + 1 == LSN_BUFSIZE);
    (void) snprintf(buf, sizeof buf, "lsn=" LSN_FMT,
                    LSN_ARGS(UINT64_C(0x100000001)));
    CHECK(strcmp(buf, "lsn=1/00000001") == 0);
}

static void
s_test_parse(void)
{
    uint64_t lsn = 0;

    /* both forms, any case */
    CHECK(lsn_parse("0/1533128", &lsn) == 0 && lsn == UINT64_C(0x1533128));
    CHECK(lsn_parse("0/01533128", &lsn) == 0 && lsn == UINT64_C(0x1533128));
    CHECK(lsn_parse("16/b374d848", &lsn) == 0 && lsn == UINT64_C(0x16B374D848));
    CHECK(lsn_parse("00000000/0", &lsn) == 0 && lsn == 0);

    /* refused, and *lsn left alone */
    static const char *const bad[] = {
        "",     "/",           "0/",          "/0",    "0",          "0/0/0",
        " 0/0", "0/0 ",        "-1/0",        "+1/0",  "0x1/0",      "0/0x1",
        "g/0",  "123456789/0", "0/123456789", "1/2\n", "FFFFFFFF0/0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
        lsn = 42;
        if (lsn_parse(bad[i], &lsn) != -1)
        {
            fprintf(stderr, "lsn_parse accepted \"%s\"\n", bad[i]);
            exit(1);
        }
        CHECK(lsn == 42);
    }
}

int
main(void)
{
    s_test_format();
    s_test_parse();
    return 0;
}
