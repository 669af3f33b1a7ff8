/*
 * tests/unit/test_prom.c
 *     The Prometheus text format as prom.c writes it: HELP and TYPE
 *     before the samples, labels quoted and escaped (a table named with a
 *     quote, a backslash or a newline must not break the line), no braces
 *     without labels, integers exact past 2^53.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "coordinator/prom.h"

int
main(void)
{
    prom_t *prom = prom_new();
    const char *labels[] = {"database", "db", "table", "a\"b\\c\nd", NULL};
    char *text = NULL;

    prom_add_family(prom, "pgconvoy_x_total", "counter",
                    "Rows\\copied\nsince the start");
    prom_add_int(prom, "pgconvoy_x_total", labels, 9007199254740993LL);
    prom_add_int(prom, "pgconvoy_x_total", NULL, 0);
    prom_add_double(prom, "pgconvoy_x_total", labels, 1.5);
    text = prom_finish(&prom);
    CHECK(prom == NULL);
    CHECK(strcmp(text,
                 "# HELP pgconvoy_x_total Rows\\\\copied\\nsince the start\n"
                 "# TYPE pgconvoy_x_total counter\n"
                 "pgconvoy_x_total{database=\"db\",table=\"a\\\"b\\\\c\\nd\"} "
                 "9007199254740993\n"
                 "pgconvoy_x_total 0\n"
                 "pgconvoy_x_total{database=\"db\",table=\"a\\\"b\\\\c\\nd\"} "
                 "1.500\n") == 0);
    free(text);

    /* destroy without finishing, and of NULL */
    prom = prom_new();
    prom_add_family(prom, "pgconvoy_y", "gauge", "y");
    prom_destroy(&prom);
    CHECK(prom == NULL);
    prom_destroy(&prom);
    return 0;
}
