/*
 * tests/fuzz/fuzz_config.c
 *     libFuzzer target: the readers of what users and peers hand us as
 *     connection settings (common/config.c): the connection JSON, the
 *     database-options JSON, libpq URIs, option key=value pairs and sizes.
 *
 * The first byte picks the reader, the rest is its input. Besides not
 * crashing or leaking, every error must be one line (issue 9: they quote
 * the input, and end up in a log line or after "pgconvoy: error: ").
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts, so that libFuzzer keeps the input, unless error is one line. */
static void
s_check_error(int rc, char *error)
{
    if (rc != 0 && error == NULL)
    {
        abort(); /* a failure must say why */
    }
    for (const char *p = error; p != NULL && *p != '\0'; p++)
    {
        if ((unsigned char) *p < 0x20 || *p == 0x7f)
        {
            abort();
        }
    }
    free(error);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
    {
        return 0;
    }
    /* the readers take C strings: one NUL-terminated copy */
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char *error = NULL;
    int rc = 0;

    switch (data[0] % 5)
    {
        case 0:
        {
            config_endpoint_t ep;
            rc = config_parse_endpoint("fuzz.json", text, &ep, &error);
            config_endpoint_clear(&ep);
            break;
        }
        case 1:
        {
            config_databases_t dbs;
            rc = config_parse_databases("fuzz.json", text, &dbs, &error);
            config_databases_clear(&dbs);
            break;
        }
        case 2:
        {
            config_endpoint_t ep;
            rc = config_parse_uri(text, &ep, &error);
            config_endpoint_clear(&ep);
            break;
        }
        case 3:
        {
            /* "key=value", as an Endpoint's ConnOption from the network */
            char *eq = strchr(text, '=');
            if (eq != NULL)
            {
                *eq = '\0';
                rc = config_check_option(text, eq + 1, &error);
            }
            break;
        }
        default:
        {
            int64_t bytes = 0;
            rc = config_parse_size(text, &bytes, &error);
            break;
        }
    }
    s_check_error(rc, error);
    free(text);
    return 0;
}
