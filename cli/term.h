/*
 * cli/term.h
 *     The terminal that `pgconvoy task watch` draws on: taken over (the
 *     alternate screen, no cursor, no line wrap) and given back as it was,
 *     its size, and a redraw in place.
 */
#ifndef PGCONVOY_CLI_TERM_H
#define PGCONVOY_CLI_TERM_H

#include <stdbool.h>

typedef struct term_t term_t;

/* Takes over the terminal on stdout and notes its resizes (SIGWINCH);
 * NULL if stdout is not a terminal, or a dumb one ($TERM unset or
 * "dumb"). */
term_t *term_new(void);
/* Gives the terminal back as term_new() found it. */
void term_destroy(term_t **self_p);

/* Whether the locale's characters are UTF-8, so blocks can be drawn. */
bool term_is_utf8(void);
/* rows and columns now, 24x80 when the terminal will not say */
void term_size(term_t *self, int *rows, int *cols);
/* Whether the terminal was resized since the last call. */
bool term_was_resized(term_t *self);
/* Replaces what is on the screen with screen's lines ('\n'-ended). */
void term_draw(term_t *self, const char *screen);

#endif
