/*
 * common/qualname.c
 *     Parsing of schema-qualified names, quoting as PostgreSQL does.
 */
#include "common/qualname.h"

#include <ctype.h>
#include <stdlib.h>

#include "common/strbuf.h"

/*
 * Reads one identifier at *pos, quoted or not, into a new string.
 * Returns NULL if there is none or a quote is not closed.
 */
static char *
s_read_part(const char **pos)
{
    const char *p = *pos;
    strbuf_t *part = strbuf_new();

    if (*p == '"')
    {
        p++;
        for (;;)
        {
            if (*p == '\0')
            {
                strbuf_destroy(&part);
                return NULL;
            }
            if (*p == '"' && p[1] == '"')
            {
                strbuf_append_len(part, "\"", 1);
                p += 2;
            }
            else if (*p == '"')
            {
                p++;
                break;
            }
            else
            {
                strbuf_append_len(part, p++, 1);
            }
        }
    }
    else
    {
        while (*p != '\0' && *p != '.' && *p != '"' &&
               !isspace((unsigned char) *p))
        {
            char c = (char) tolower((unsigned char) *p++);
            strbuf_append_len(part, &c, 1);
        }
    }
    if (strbuf_len(part) == 0)
    {
        strbuf_destroy(&part);
        return NULL;
    }
    *pos = p;
    return strbuf_finish(&part);
}

int
qualname_parse(const char *text, char **schema, char **table, char **error)
{
    const char *p = text;

    *schema = NULL;
    *table = NULL;
    *schema = s_read_part(&p);
    if (*schema != NULL && *p == '.')
    {
        p++;
        *table = s_read_part(&p);
        if (*table != NULL && *p == '\0')
        {
            return 0;
        }
    }
    free(*schema);
    free(*table);
    *schema = NULL;
    *table = NULL;
    *error = xasprintf("\"%s\" is not a table name of the form "
                       "schemaName.tableName (quote parts with \"\" where "
                       "needed)",
                       text);
    return -1;
}
