/*
 * cli/term.c
 *     Draws whole screens on the terminal on stdout, in place.
 *
 * What term_new() changes on the terminal, term_destroy() changes back,
 * whatever way the watch ends (the task ends, Ctrl-C, the coordinator
 * goes away): the caller destroys it on every path. A SIGKILL leaves the
 * alternate screen on; `reset` or `tput rmcup` gives it back.
 */
#include "cli/term.h"

#include <assert.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/strbuf.h"

/* the alternate screen, the cursor hidden, no wrap at the right margin
 * (a line one column too wide then cannot push the screen up) */
#define TERM_TAKE "\033[?1049h\033[?25l\033[?7l"
#define TERM_GIVE_BACK "\033[?7h\033[?25h\033[?1049l"

/* set by SIGWINCH, read and cleared by term_was_resized() */
static volatile sig_atomic_t s_resized;

struct term_t
{
    struct sigaction old_winch; /* the SIGWINCH handling we replaced */
    int stderr_fd;              /* stderr as it was, or -1 if kept */
    FILE *held;                 /* what stderr said meanwhile, owned */
};

static void
s_on_winch(int sig)
{
    (void) sig;
    s_resized = 1;
}

term_t *
term_new(void)
{
    struct sigaction sa;
    const char *kind = getenv("TERM");

    /* a dumb terminal (an editor's shell) cannot move its cursor */
    if (!isatty(STDOUT_FILENO) || kind == NULL || strcmp(kind, "dumb") == 0)
    {
        return NULL;
    }
    term_t *self = xcalloc(1, sizeof(term_t));
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_winch;
    sigemptyset(&sa.sa_mask);
    (void) sigaction(SIGWINCH, &sa, &self->old_winch);
    s_resized = 0;
    /* errors written on the alternate screen would vanish with it: they
     * are held, and shown once the terminal is given back */
    self->stderr_fd = -1;
    self->held = isatty(STDERR_FILENO) ? tmpfile() : NULL;
    if (self->held != NULL)
    {
        fflush(stderr);
        self->stderr_fd = dup(STDERR_FILENO);
        if (self->stderr_fd < 0 || dup2(fileno(self->held), STDERR_FILENO) < 0)
        {
            fclose(self->held);
            self->held = NULL;
        }
    }
    fputs(TERM_TAKE, stdout);
    fflush(stdout);
    return self;
}

void
term_destroy(term_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    term_t *self = *self_p;

    fputs(TERM_GIVE_BACK, stdout);
    fflush(stdout);
    (void) sigaction(SIGWINCH, &self->old_winch, NULL);
    if (self->held != NULL)
    {
        char buf[4096];
        size_t len = 0;

        fflush(stderr);
        (void) dup2(self->stderr_fd, STDERR_FILENO);
        rewind(self->held);
        while ((len = fread(buf, 1, sizeof buf, self->held)) > 0)
        {
            (void) fwrite(buf, 1, len, stderr);
        }
        fflush(stderr);
        fclose(self->held);
    }
    if (self->stderr_fd >= 0)
    {
        close(self->stderr_fd);
    }
    free(self);
    *self_p = NULL;
}

bool
term_is_utf8(void)
{
    /* LC_CTYPE only: numbers keep printing with a '.' */
    (void) setlocale(LC_CTYPE, "");
    return strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
}

void
term_size(term_t *self, int *rows, int *cols)
{
    struct winsize ws;

    (void) self;
    *rows = 24;
    *cols = 80;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
        ws.ws_col > 0)
    {
        *rows = ws.ws_row;
        *cols = ws.ws_col;
    }
}

bool
term_was_resized(term_t *self)
{
    (void) self;
    if (!s_resized)
    {
        return false;
    }
    s_resized = 0;
    return true;
}

void
term_draw(term_t *self, const char *screen)
{
    strbuf_t *frame = strbuf_new();
    const char *line = screen;

    (void) self;
    /* home, then each line over the old one: erase before writing, as an
     * erase after a full-width line would take its last character */
    strbuf_append(frame, "\033[H");
    while (*line != '\0')
    {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t) (end - line) : strlen(line);

        strbuf_append(frame, line == screen ? "\033[2K" : "\r\n\033[2K");
        strbuf_append_len(frame, line, len);
        line += len + (end != NULL);
    }
    strbuf_append(frame, "\033[J"); /* what the last screen had below */
    fwrite(strbuf_data(frame), 1, strbuf_len(frame), stdout);
    fflush(stdout);
    strbuf_destroy(&frame);
}
