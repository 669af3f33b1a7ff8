/*
 * coordinator/prom.c
 *     The Prometheus text exposition format, written into a strbuf.
 *
 * Every label value goes through s_append_escaped(): a name with a
 * quote or a newline must not end the sample line early, or a scraper
 * would refuse the whole page.
 */
#include "coordinator/prom.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/strbuf.h"

struct prom_t
{
    strbuf_t *text; /* owned: the page so far */
};

prom_t *
prom_new(void)
{
    prom_t *self = xcalloc(1, sizeof *self);

    self->text = strbuf_new();
    return self;
}

void
prom_destroy(prom_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    strbuf_destroy(&(*self_p)->text);
    free(*self_p);
    *self_p = NULL;
}

/* text with backslash and newline escaped, and the double quote too if
 * quote (label values escape it, HELP text does not) */
static void
s_append_escaped(strbuf_t *out, const char *text, bool quote)
{
    for (const char *c = text; *c != '\0'; c++)
    {
        if (*c == '\\')
        {
            strbuf_append(out, "\\\\");
        }
        else if (*c == '\n')
        {
            strbuf_append(out, "\\n");
        }
        else if (*c == '"' && quote)
        {
            strbuf_append(out, "\\\"");
        }
        else
        {
            strbuf_append_len(out, c, 1);
        }
    }
}

void
prom_add_family(prom_t *self, const char *name, const char *type,
                const char *help)
{
    strbuf_appendf(self->text, "# HELP %s ", name);
    s_append_escaped(self->text, help, false);
    strbuf_appendf(self->text, "\n# TYPE %s %s\n", name, type);
}

/* name{label="value",...} and the space before the value */
static void
s_add_series(prom_t *self, const char *name, const char *const *labels)
{
    strbuf_append(self->text, name);
    if (labels != NULL && labels[0] != NULL)
    {
        strbuf_append(self->text, "{");
        for (int i = 0; labels[i] != NULL && labels[i + 1] != NULL; i += 2)
        {
            strbuf_appendf(self->text, "%s%s=\"", i > 0 ? "," : "", labels[i]);
            s_append_escaped(self->text, labels[i + 1], true);
            strbuf_append(self->text, "\"");
        }
        strbuf_append(self->text, "}");
    }
    strbuf_append(self->text, " ");
}

void
prom_add_int(prom_t *self, const char *name, const char *const *labels,
             int64_t value)
{
    s_add_series(self, name, labels);
    strbuf_appendf(self->text, "%lld\n", (long long) value);
}

void
prom_add_double(prom_t *self, const char *name, const char *const *labels,
                double value)
{
    s_add_series(self, name, labels);
    strbuf_appendf(self->text, "%.3f\n", value);
}

char *
prom_finish(prom_t **self_p)
{
    assert(self_p != NULL && *self_p != NULL);
    char *text = strbuf_finish(&(*self_p)->text);

    prom_destroy(self_p);
    return text;
}
