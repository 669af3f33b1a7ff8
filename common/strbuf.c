/*
 * common/strbuf.c
 *     Growable strings and the allocation helpers that abort on failure.
 */
#include "common/strbuf.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct strbuf_t
{
    char *data;      /* owned, NUL-terminated */
    size_t len;      /* bytes used, without the NUL */
    size_t capacity; /* bytes allocated */
};

static void
s_out_of_memory(void)
{
    fputs("pgconvoy: out of memory\n", stderr);
    abort();
}

void *
xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL)
    {
        s_out_of_memory();
    }
    return p;
}

char *
xstrdup(const char *text)
{
    if (text == NULL)
    {
        return NULL;
    }
    char *copy = strdup(text);
    if (copy == NULL)
    {
        s_out_of_memory();
    }
    return copy;
}

static void
s_reserve(strbuf_t *self, size_t extra)
{
    if (self->len + extra + 1 <= self->capacity)
    {
        return;
    }
    size_t capacity = self->capacity ? self->capacity : 64;
    while (capacity < self->len + extra + 1)
    {
        capacity *= 2;
    }
    char *data = realloc(self->data, capacity);
    if (data == NULL)
    {
        s_out_of_memory();
    }
    self->data = data;
    self->capacity = capacity;
}

strbuf_t *
strbuf_new(void)
{
    strbuf_t *self = xcalloc(1, sizeof *self);
    s_reserve(self, 0);
    self->data[0] = '\0';
    return self;
}

void
strbuf_destroy(strbuf_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    free((*self_p)->data);
    free(*self_p);
    *self_p = NULL;
}

void
strbuf_append_len(strbuf_t *self, const char *data, size_t len)
{
    s_reserve(self, len);
    memcpy(self->data + self->len, data, len);
    self->len += len;
    self->data[self->len] = '\0';
}

void
strbuf_append(strbuf_t *self, const char *text)
{
    strbuf_append_len(self, text, strlen(text));
}

void
strbuf_append_array_text(strbuf_t *self, const char *text)
{
    strbuf_append(self, self->len > 1 ? ",\"" : "\"");
    for (const char *p = text; *p != '\0'; p++)
    {
        if (*p == '"' || *p == '\\')
        {
            strbuf_append_len(self, "\\", 1);
        }
        strbuf_append_len(self, p, 1);
    }
    strbuf_append_len(self, "\"", 1);
}

/* the attribute lets clang's -Wformat-nonliteral see fmt is checked */
static void s_vappendf(strbuf_t *self, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
s_vappendf(strbuf_t *self, const char *fmt, va_list ap)
{
    va_list copy;

    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
    {
        return;
    }
    s_reserve(self, (size_t) n);
    (void) vsnprintf(self->data + self->len, (size_t) n + 1, fmt, ap);
    self->len += (size_t) n;
}

void
strbuf_appendf(strbuf_t *self, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    s_vappendf(self, fmt, ap);
    va_end(ap);
}

char *
xasprintf(const char *fmt, ...)
{
    strbuf_t *buf = strbuf_new();
    va_list ap;

    va_start(ap, fmt);
    s_vappendf(buf, fmt, ap);
    va_end(ap);
    return strbuf_finish(&buf);
}

char *
strbuf_escape_controls(const char *text)
{
    strbuf_t *buf = strbuf_new();

    for (const unsigned char *p = (const unsigned char *) text; *p != '\0'; p++)
    {
        if (*p == '\n' || *p == '\r' || *p == '\t')
        {
            strbuf_append(buf, *p == '\n' ? "\\n" : *p == '\r' ? "\\r" : "\\t");
        }
        else if (*p < 0x20 || *p == 0x7f)
        {
            strbuf_appendf(buf, "\\x%02x", *p);
        }
        else
        {
            strbuf_append_len(buf, (const char *) p, 1);
        }
    }
    return strbuf_finish(&buf);
}

void
strbuf_reset(strbuf_t *self)
{
    self->len = 0;
    self->data[0] = '\0';
}

const char *
strbuf_data(const strbuf_t *self)
{
    return self->data;
}

size_t
strbuf_len(const strbuf_t *self)
{
    return self->len;
}

char *
strbuf_finish(strbuf_t **self_p)
{
    char *data = (*self_p)->data;
    free(*self_p);
    *self_p = NULL;
    return data;
}
