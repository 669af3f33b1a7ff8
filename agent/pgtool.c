/*
 * agent/pgtool.c
 *     Child processes for pg_dump and pg_restore, with their output read
 *     through pipes.
 *
 * Both pipes are drained with poll(): a child writing much to stderr
 * while we wait on stdout would otherwise deadlock.
 */
#include "agent/pgtool.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/strbuf.h"

/* In the child: sets the connection environment and execs. */
static void
s_exec_child(const char *path, const char *tool, const char *const *argv,
             const Pgferry__Endpoint *ep, const char *dbname)
{
    size_t count = 0;
    const char **args = NULL;
    size_t n = 0;
    char port[16];

    while (argv[count] != NULL)
    {
        count++;
    }
    args = xcalloc(count + 2, sizeof *args);
    args[n++] = tool;
    for (size_t i = 0; i < count; i++)
    {
        args[n++] = argv[i];
    }
    args[n] = NULL;
    if (ep != NULL)
    {
        snprintf(port, sizeof port, "%u", ep->port);
        setenv("PGHOST", ep->host, 1);
        setenv("PGPORT", port, 1);
        setenv("PGUSER", ep->user, 1);
        setenv("PGDATABASE", dbname ? dbname : ep->dbname, 1);
        setenv("PGAPPNAME", "pgferry-agent", 1);
        if (ep->password != NULL && ep->password[0] != '\0')
        {
            setenv("PGPASSWORD", ep->password, 1);
        }
        unsetenv("PGSERVICE");
    }
    execv(path, (char *const *) args);
    fprintf(stderr, "cannot run %s: %s\n", path, strerror(errno));
    _exit(127);
}

int
pgtool_run(const char *pg_bin, const char *tool, const char *const *argv,
           const Pgferry__Endpoint *ep, const char *dbname, strbuf_t *out,
           char **error)
{
    int out_pipe[2] = {-1, -1};
    int err_pipe[2] = {-1, -1};
    char *path =
        pg_bin && pg_bin[0] ? xasprintf("%s/%s", pg_bin, tool) : xstrdup(tool);
    strbuf_t *err = strbuf_new();
    pid_t pid = -1;
    int status = 0;
    int rc = -1;

    if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0)
    {
        *error = xasprintf("could not create a pipe for %s: %s", tool,
                           strerror(errno));
        goto cleanup;
    }
    pid = fork();
    if (pid < 0)
    {
        *error = xasprintf("could not start %s: %s", tool, strerror(errno));
        goto cleanup;
    }
    if (pid == 0)
    {
        dup2(out_pipe[1], STDOUT_FILENO);
        dup2(err_pipe[1], STDERR_FILENO);
        close(out_pipe[0]);
        close(err_pipe[0]);
        close(out_pipe[1]);
        close(err_pipe[1]);
        s_exec_child(path, tool, argv, ep, dbname);
    }
    close(out_pipe[1]);
    close(err_pipe[1]);
    out_pipe[1] = err_pipe[1] = -1;

    struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0)
    {
        char chunk[65536];
        if (poll(fds, 2, -1) < 0)
        {
            if (errno == EINTR)
            {
                continue;
            }
            break;
        }
        for (int i = 0; i < 2; i++)
        {
            if (fds[i].fd < 0 || fds[i].revents == 0)
            {
                continue;
            }
            ssize_t got = read(fds[i].fd, chunk, sizeof chunk);
            if (got > 0)
            {
                strbuf_t *dest = i == 0 ? out : err;
                if (dest != NULL)
                {
                    strbuf_append_len(dest, chunk, (size_t) got);
                }
            }
            else if (got == 0 || errno != EINTR)
            {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    out_pipe[0] = fds[0].fd;
    err_pipe[0] = fds[1].fd;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    {
        rc = 0;
    }
    else
    {
        /* pg_dump's own message says what failed; keep it whole */
        char *text = strbuf_finish(&err);
        size_t len = strlen(text);
        while (len > 0 && text[len - 1] == '\n')
        {
            text[--len] = '\0';
        }
        for (size_t i = 0; i < len; i++)
        {
            text[i] = text[i] == '\n' ? ' ' : text[i];
        }
        *error = xasprintf("%s failed (%s %d): %s", tool,
                           WIFEXITED(status) ? "exit code" : "signal",
                           WIFEXITED(status) ? WEXITSTATUS(status)
                                             : WTERMSIG(status),
                           text[0] ? text : "no message");
        free(text);
    }

cleanup:
    for (int i = 0; i < 2; i++)
    {
        if (out_pipe[i] >= 0)
        {
            close(out_pipe[i]);
        }
        if (err_pipe[i] >= 0)
        {
            close(err_pipe[i]);
        }
    }
    strbuf_destroy(&err);
    free(path);
    return rc;
}

void
pgtool_strip_meta(strbuf_t *script)
{
    strbuf_t *clean = strbuf_new();
    const char *p = strbuf_data(script);

    while (*p != '\0')
    {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t) (eol - p) + 1 : strlen(p);
        /* pg_dump wraps its plain output in \restrict KEY ... \unrestrict
         * KEY (PostgreSQL 15.14 and later); nothing else starts so */
        bool meta = strncmp(p, "\\restrict ", 10) == 0 ||
                    strncmp(p, "\\unrestrict ", 12) == 0;
        if (!meta)
        {
            strbuf_append_len(clean, p, len);
        }
        p += len;
    }
    strbuf_reset(script);
    strbuf_append_len(script, strbuf_data(clean), strbuf_len(clean));
    strbuf_destroy(&clean);
}
