/*
 * common/envelope_check.h
 *     Whether a decoded Envelope holds every part its receiver reads
 *     without looking: proto3 makes every sub-message optional on the
 *     wire, so an Assign without its Endpoints unpacks fine and would be
 *     dereferenced as NULL by the agent.
 *
 * What is checked is what the receivers assume, no more: parts that a
 * receiver already checks itself (Request endpoints, whose absence the
 * coordinator answers with a message of its own; the optional cdc
 * counters of Progress and Result) are left to it.
 */
#ifndef PGCONVOY_ENVELOPE_CHECK_H
#define PGCONVOY_ENVELOPE_CHECK_H

#include <stddef.h>

#include "pgconvoy.pb-c.h"

/*
 * 0 if env is complete; -1 with why (size bytes, always NUL-terminated)
 * saying which part of which message is missing. Borrows env.
 */
int envelope_check_complete(const Pgconvoy__Envelope *env, char *why,
                            size_t size);

#endif
