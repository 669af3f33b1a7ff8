/*
 * common/version.c
 *     What --version prints, the same way for the three programs.
 *
 * The first line is "PROGRAM VERSION" alone: help2man reads the version
 * for the manual pages from it.
 */
#include "common/version.h"

#include "common/envelope.h"

void
version_print(FILE *out, const char *program)
{
    fprintf(out, "%s %s\nprotocol version %d\n", program, PGCONVOY_VERSION,
            PGCONVOY_PROTOCOL_VERSION);
}
