/*
 * common/qualname.h
 *     "schema.table" names as users write them, with SQL's double-quote
 *     rules: unquoted parts fold to lower case, quoted parts are taken as
 *     they are with "" standing for one quote.
 */
#ifndef PGCONVOY_QUALNAME_H
#define PGCONVOY_QUALNAME_H

/*
 * Splits text into its two parts (allocated, free() them). Returns -1 and
 * sets *error (allocated) when text is not of the form schema.table.
 */
int qualname_parse(const char *text, char **schema, char **table, char **error);

#endif
