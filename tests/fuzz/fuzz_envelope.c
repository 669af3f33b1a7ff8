/*
 * tests/fuzz/fuzz_envelope.c
 *     libFuzzer target: envelope_decode(), what every process runs on each
 *     message a peer sends (common/envelope.c, envelope_check.c).
 *
 * Whatever the bytes, decoding must not crash or leak, and an Envelope it
 * accepts must be one a receiver can use: complete (the check passed, so
 * the parts receivers read are there) and packable again.
 */
#include <stdint.h>
#include <stdlib.h>

#include "common/envelope.h"
#include "common/envelope_check.h"
#include "common/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    /* a refusal's warning per input would drown the fuzzer's own output */
    log_set_level(LOG_LEVEL_ERROR);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Pgconvoy__Envelope *env = NULL;
    uint32_t version = 0;
    char why[160];

    if (envelope_decode(data, size, &env, &version) != ENVELOPE_OK)
    {
        if (env != NULL)
        {
            abort(); /* a refusal hands nothing out */
        }
        return 0;
    }
    if (envelope_check_complete(env, why, sizeof why) != 0)
    {
        abort();
    }
    /* what a coordinator echoes back (a Refused, a Reply) must pack */
    size_t packed = pgconvoy__envelope__get_packed_size(env);
    uint8_t *buf = malloc(packed ? packed : 1);
    if (buf == NULL || pgconvoy__envelope__pack(env, buf) != packed)
    {
        abort();
    }
    free(buf);
    envelope_free(&env);
    return 0;
}
