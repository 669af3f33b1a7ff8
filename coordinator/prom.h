/*
 * coordinator/prom.h
 *     Writes the Prometheus text exposition format (version 0.0.4): a
 *     family's HELP and TYPE lines, then its samples, labels escaped.
 *
 * The format wants a family's samples together and after its TYPE line:
 * callers write one family at a time (prom_add_family(), then its
 * samples). Label values are escaped here (backslash, double quote,
 * newline), so database and table names of any spelling are safe.
 */
#ifndef PGCONVOY_COORDINATOR_PROM_H
#define PGCONVOY_COORDINATOR_PROM_H

#include <stdint.h>

typedef struct prom_t prom_t;

prom_t *prom_new(void);
void prom_destroy(prom_t **self_p);

/* Starts family name of type ("gauge", "counter"), help one line. */
void prom_add_family(prom_t *self, const char *name, const char *type,
                     const char *help);

/*
 * One sample of name: labels is NULL or a NULL-terminated list of name,
 * value pairs ({"task", "t1", "database", "db", NULL}); borrowed.
 */
void prom_add_int(prom_t *self, const char *name, const char *const *labels,
                  int64_t value);
void prom_add_double(prom_t *self, const char *name, const char *const *labels,
                     double value);

/* The text so far, handed to the caller (free()), and self destroyed. */
char *prom_finish(prom_t **self_p);

#endif
