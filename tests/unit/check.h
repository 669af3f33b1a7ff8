/*
 * tests/unit/check.h
 *     CHECK(): never compiled out, may call functions.
 */
#ifndef PGCONVOY_TEST_CHECK_H
#define PGCONVOY_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(expr)                                                            \
    do                                                                         \
    {                                                                          \
        if (!(expr))                                                           \
        {                                                                      \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__,   \
                    #expr);                                                    \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

/* CHECK that haystack contains needle, printing both when not. */
#define CHECK_CONTAINS(haystack, needle)                                       \
    do                                                                         \
    {                                                                          \
        const char *h_ = (haystack);                                           \
        if (h_ == NULL || strstr(h_, (needle)) == NULL)                        \
        {                                                                      \
            fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n",         \
                    __FILE__, __LINE__, h_ ? h_ : "(null)", (needle));         \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

/* CHECK that two integers are equal, printing both when not. */
#define CHECK_EQ_INT(got, want)                                                \
    do                                                                         \
    {                                                                          \
        long long g_ = (long long) (got);                                      \
        long long w_ = (long long) (want);                                     \
        if (g_ != w_)                                                          \
        {                                                                      \
            fprintf(stderr, "%s:%d: %s is %lld, expected %lld\n", __FILE__,    \
                    __LINE__, #got, g_, w_);                                   \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

/* CHECK that two strings are equal, printing both when not. */
#define CHECK_EQ_STR(got, want)                                                \
    do                                                                         \
    {                                                                          \
        const char *g_ = (got);                                                \
        const char *w_ = (want);                                               \
        if (g_ == NULL || strcmp(g_, w_) != 0)                                 \
        {                                                                      \
            fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n",          \
                    __FILE__, __LINE__, #got, g_ ? g_ : "(null)", w_);         \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

#endif
