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

extern char **environ;

/* the variables we set for the child; any of ours of the same name go */
static const char *const s_pg_vars[] = {
    "PGHOST=",    "PGPORT=",     "PGUSER=",    "PGDATABASE=",
    "PGAPPNAME=", "PGPASSWORD=", "PGSERVICE=", NULL};

/*
 * The child's environment: ours, with the connection's PG* settings in
 * place of any we had. Built before fork(): a threaded process may only
 * call async-signal-safe functions between fork() and exec().
 */
static char **
s_child_env(const Pgferry__Endpoint *ep, const char *dbname)
{
    size_t n = 0;
    size_t count = 0;
    char **envp = NULL;

    while (environ[count] != NULL)
    {
        count++;
    }
    envp = xcalloc(count + 8, sizeof *envp);
    for (size_t i = 0; i < count; i++)
    {
        bool ours = false;
        for (size_t v = 0; ep != NULL && s_pg_vars[v] != NULL; v++)
        {
            ours = ours ||
                   strncmp(environ[i], s_pg_vars[v], strlen(s_pg_vars[v])) == 0;
        }
        if (!ours)
        {
            envp[n++] = xstrdup(environ[i]);
        }
    }
    if (ep != NULL)
    {
        envp[n++] = xasprintf("PGHOST=%s", ep->host);
        envp[n++] = xasprintf("PGPORT=%u", ep->port);
        envp[n++] = xasprintf("PGUSER=%s", ep->user);
        envp[n++] = xasprintf("PGDATABASE=%s", dbname ? dbname : ep->dbname);
        envp[n++] = xstrdup("PGAPPNAME=pgferry-agent");
        if (ep->password != NULL && ep->password[0] != '\0')
        {
            envp[n++] = xasprintf("PGPASSWORD=%s", ep->password);
        }
    }
    return envp;
}

static void
s_free_vector(char **vector)
{
    for (size_t i = 0; vector != NULL && vector[i] != NULL; i++)
    {
        if (strncmp(vector[i], "PGPASSWORD=", 11) == 0)
        {
            memset(vector[i], 0, strlen(vector[i]));
        }
        free(vector[i]);
    }
    free(vector);
}

/* pg_bin/tool, or tool found in PATH when pg_bin is empty. */
static char *
s_tool_path(const char *pg_bin, const char *tool)
{
    if (pg_bin != NULL && pg_bin[0] != '\0')
    {
        return xasprintf("%s/%s", pg_bin, tool);
    }
    char *path = xstrdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    char *save = NULL;
    char *found = NULL;
    for (char *dir = strtok_r(path, ":", &save); dir != NULL && !found;
         dir = strtok_r(NULL, ":", &save))
    {
        char *candidate = xasprintf("%s/%s", dir, tool);
        if (access(candidate, X_OK) == 0)
        {
            found = candidate;
        }
        else
        {
            free(candidate);
        }
    }
    free(path);
    return found ? found : xstrdup(tool);
}

/* argv as execve wants it: the program name first. */
static char **
s_child_args(const char *tool, const char *const *argv)
{
    size_t count = 0;
    char **args = NULL;

    while (argv[count] != NULL)
    {
        count++;
    }
    args = xcalloc(count + 2, sizeof *args);
    args[0] = xstrdup(tool);
    for (size_t i = 0; i < count; i++)
    {
        args[i + 1] = xstrdup(argv[i]);
    }
    return args;
}

int
pgtool_run(const char *pg_bin, const char *tool, const char *const *argv,
           const Pgferry__Endpoint *ep, const char *dbname, strbuf_t *out,
           char **error)
{
    int out_pipe[2] = {-1, -1};
    int err_pipe[2] = {-1, -1};
    char *path = s_tool_path(pg_bin, tool);
    char **args = s_child_args(tool, argv);
    char **envp = s_child_env(ep, dbname);
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
        execve(path, args, envp);
        /* async-signal-safe only, here */
        static const char msg[] = "cannot run the PostgreSQL tool\n";
        (void) !write(STDERR_FILENO, msg, sizeof msg - 1);
        _exit(127);
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
    s_free_vector(args);
    s_free_vector(envp);
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
