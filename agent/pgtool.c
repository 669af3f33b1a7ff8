/*
 * agent/pgtool.c
 *     Child processes for pg_dump and pg_restore, with their output read
 *     through pipes.
 *
 * Both pipes are drained with poll(): a child writing much to stderr
 * while we wait on stdout would otherwise deadlock.
 *
 * A child connects with the settings of every other connection of the
 * agent (pgconn_params_init: the user's sslmode and the rest, TCP
 * keepalives), given as --dbname. The password is in neither its command
 * line nor its environment, both of which ps shows, but in a password
 * file that exists only in memory and only for that child.
 */
/* memfd_create(); a feature-test macro is reserved by design */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */

#include "agent/pgtool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/pgconn.h"
#include "common/strbuf.h"

/* How often a running tool's stop function is asked, and how long a tool
 * sent SIGTERM may take to end before it is sent SIGKILL. */
#define PGTOOL_STOP_POLL_MS 250
#define PGTOOL_TERM_GRACE_MS 5000

extern char **environ;

/* the connection's variables of ours that the child must not see: its
 * --dbname names every setting, and these would only contradict it */
static const char *const s_pg_vars[] = {
    "PGHOST=",    "PGPORT=",    "PGUSER=", "PGDATABASE=",
    "PGAPPNAME=", "PGSERVICE=", NULL};

/*
 * The child's environment: ours, without the PG* variables above when it
 * connects, and without PGPASSWORD when it gets the password from a file
 * (PGPASSWORD would win over it). Built before fork(): a threaded
 * process may only call async-signal-safe functions between fork() and
 * exec().
 */
static char **
s_child_env(bool connects, bool password_file)
{
    size_t n = 0;
    size_t count = 0;
    char **envp = NULL;

    while (environ[count] != NULL)
    {
        count++;
    }
    envp = xcalloc(count + 1, sizeof *envp);
    for (size_t i = 0; i < count; i++)
    {
        bool ours =
            password_file && strncmp(environ[i], "PGPASSWORD=", 11) == 0;
        for (size_t v = 0; connects && s_pg_vars[v] != NULL; v++)
        {
            ours = ours ||
                   strncmp(environ[i], s_pg_vars[v], strlen(s_pg_vars[v])) == 0;
        }
        if (!ours)
        {
            envp[n++] = xstrdup(environ[i]);
        }
    }
    return envp;
}

/*
 * A password file in memory holding password for any host, port, database
 * and user, for one child: "*:*:*:*:password", with ':' and '\' escaped
 * as libpq reads them. Returns its descriptor, close-on-exec so that no
 * other thread's child inherits it (the child clears the flag for
 * itself), or -1 with *error set.
 */
static int
s_password_file(const char *password, char **error)
{
    strbuf_t *line = strbuf_new();
    int fd = memfd_create("pgconvoy-pgpass", MFD_CLOEXEC);
    const char *failed = NULL; /* what could not be done */
    int why = 0;               /* its errno */

    strbuf_append(line, "*:*:*:*:");
    for (const char *c = password; *c != '\0'; c++)
    {
        if (*c == ':' || *c == '\\')
        {
            strbuf_append_len(line, "\\", 1);
        }
        strbuf_append_len(line, c, 1);
    }
    strbuf_append(line, "\n");
    /* libpq ignores a password file that others may read: 0600 */
    if (fd < 0 || fchmod(fd, S_IRUSR | S_IWUSR) != 0)
    {
        failed = "create";
        why = errno;
    }
    for (size_t done = 0; failed == NULL && done < strbuf_len(line);)
    {
        ssize_t written =
            write(fd, strbuf_data(line) + done, strbuf_len(line) - done);
        if (written > 0)
        {
            done += (size_t) written;
        }
        else if (written == 0 || errno != EINTR)
        {
            failed = "write";
            why = written == 0 ? EIO : errno;
        }
    }
    if (failed != NULL)
    {
        *error = xasprintf("could not %s a password file in memory for the "
                           "PostgreSQL tool: %s",
                           failed, strerror(why));
        if (fd >= 0)
        {
            close(fd);
        }
        fd = -1;
    }
    /* the buffer held the password */
    char *text = strbuf_finish(&line);
    memset(text, 0, strlen(text));
    free(text);
    return fd;
}

static void
s_free_vector(char **vector)
{
    for (size_t i = 0; vector != NULL && vector[i] != NULL; i++)
    {
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

/* argv as execve wants it: the program name first, then dbname (the
 * connection's --dbname option) if not NULL, then argv. */
static char **
s_child_args(const char *tool, const char *dbname, const char *const *argv)
{
    size_t count = 0;
    size_t n = 0;
    char **args = NULL;

    while (argv[count] != NULL)
    {
        count++;
    }
    args = xcalloc(count + 4, sizeof *args);
    args[n++] = xstrdup(tool);
    if (dbname != NULL)
    {
        args[n++] = xstrdup(dbname);
        /* never wait for a password at a terminal: fail, and say why */
        args[n++] = xstrdup("--no-password");
    }
    for (size_t i = 0; i < count; i++)
    {
        args[n++] = xstrdup(argv[i]);
    }
    return args;
}

/*
 * "--dbname=<conninfo>" for a child connecting to ep/dbname, with
 * passfile naming /proc/self/fd/pass_fd if pass_fd >= 0 (after the
 * user's own passfile, which it replaces); NULL if ep is NULL.
 */
static char *
s_dbname_option(const Pgconvoy__Endpoint *ep, const char *dbname, int pass_fd)
{
    pgconn_params_t params;
    char *conninfo = NULL;
    char *option = NULL;

    if (ep == NULL)
    {
        return NULL;
    }
    /* not pinned: pg_dump and pg_restore set their sessions up themselves */
    pgconn_params_init(&params, ep, dbname, "agent", NULL, false);
    conninfo = pgconn_params_conninfo(&params);
    option = pass_fd >= 0 ? xasprintf("--dbname=%s passfile='/proc/self/fd/%d'",
                                      conninfo, pass_fd)
                          : xasprintf("--dbname=%s", conninfo);
    free(conninfo);
    pgconn_params_clear(&params);
    return option;
}

static int64_t
s_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Reads the child's standard output into out and its standard error into
 * err until it has closed both, closing *out_fd and *err_fd (then -1).
 * Returns true if stop asked for the child to end: it was sent SIGTERM,
 * and SIGKILL if it was still there PGTOOL_TERM_GRACE_MS later.
 */
static bool
s_drain(pid_t pid, int out_pipe[2], int err_pipe[2], strbuf_t *out,
        strbuf_t *err, pgtool_stop_fn stop, const void *stop_arg)
{
    struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    int open_fds = 2;
    int64_t termed_at = -1;
    bool killed = false;

    while (open_fds > 0)
    {
        char chunk[65536];
        int ready = poll(fds, 2, stop != NULL ? PGTOOL_STOP_POLL_MS : -1);

        if (ready < 0 && errno != EINTR)
        {
            break;
        }
        if (stop != NULL && termed_at < 0 && stop(stop_arg))
        {
            (void) kill(pid, SIGTERM);
            termed_at = s_now_ms();
        }
        else if (termed_at >= 0 && !killed &&
                 s_now_ms() - termed_at >= PGTOOL_TERM_GRACE_MS)
        {
            (void) kill(pid, SIGKILL);
            killed = true;
        }
        for (int i = 0; ready > 0 && i < 2; i++)
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
    return termed_at >= 0;
}

int
pgtool_run(const char *pg_bin, const char *tool, const char *const *argv,
           const Pgconvoy__Endpoint *ep, const char *dbname, strbuf_t *out,
           pgtool_stop_fn stop, const void *stop_arg, char **error)
{
    int out_pipe[2] = {-1, -1};
    int err_pipe[2] = {-1, -1};
    bool password = ep != NULL && ep->password != NULL && ep->password[0];
    int pass_fd = -1;
    char *dbname_option = NULL;
    char *path = s_tool_path(pg_bin, tool);
    char **args = NULL;
    char **envp = s_child_env(ep != NULL, password);
    strbuf_t *err = strbuf_new();
    pid_t pid = -1;
    int status = 0;
    bool stopped = false;
    int rc = -1;

    if (password && (pass_fd = s_password_file(ep->password, error)) < 0)
    {
        goto cleanup;
    }
    dbname_option = s_dbname_option(ep, dbname, pass_fd);
    args = s_child_args(tool, dbname_option, argv);
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
        if (pass_fd >= 0)
        {
            (void) fcntl(pass_fd, F_SETFD, 0); /* for the child's libpq */
        }
        execve(path, args, envp);
        /* async-signal-safe only, here */
        static const char msg[] = "cannot run the PostgreSQL tool\n";
        (void) !write(STDERR_FILENO, msg, sizeof msg - 1);
        _exit(127);
    }
    close(out_pipe[1]);
    close(err_pipe[1]);
    out_pipe[1] = err_pipe[1] = -1;

    stopped = s_drain(pid, out_pipe, err_pipe, out, err, stop, stop_arg);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    {
    }
    if (stopped)
    {
        *error = xasprintf("%s stopped: its unit was released", tool);
    }
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
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
    if (pass_fd >= 0)
    {
        close(pass_fd);
    }
    free(dbname_option);
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

char *
pgtool_find_newest(const char *root)
{
    DIR *d = opendir(root);
    struct dirent *e = NULL;
    long best = -1;

    if (d == NULL)
    {
        return NULL;
    }
    while ((e = readdir(d)) != NULL)
    {
        char *end = NULL;
        long major = strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end != '\0' || major <= best)
        {
            continue; /* not a major version's directory, or older */
        }
        char *tool = xasprintf("%s/%s/bin/pg_dump", root, e->d_name);
        if (access(tool, X_OK) == 0)
        {
            best = major;
        }
        free(tool);
    }
    closedir(d);
    return best >= 0 ? xasprintf("%s/%ld/bin", root, best) : NULL;
}

int
pgtool_major(const char *pg_bin, const char *tool, char **error)
{
    static const char *const argv[] = {"--version", NULL};
    strbuf_t *out = strbuf_new();
    const char *text = NULL;
    int major = -1;

    if (pgtool_run(pg_bin, tool, argv, NULL, NULL, out, NULL, NULL, error) == 0)
    {
        /* "pg_dump (PostgreSQL) 17.2 (Debian 17.2-1)": the first number */
        text = strbuf_data(out);
        text = strstr(text, ") ");
        if (text != NULL && text[2] >= '0' && text[2] <= '9')
        {
            major = (int) strtol(text + 2, NULL, 10);
        }
        if (major < 0)
        {
            *error = xasprintf("%s/%s --version printed \"%s\", not a "
                               "version",
                               pg_bin, tool, strbuf_data(out));
        }
    }
    strbuf_destroy(&out);
    return major;
}

char *
pgtool_check_versions(const char *pg_bin, int source_version,
                      int target_version)
{
    static const char *const tools[] = {"pg_dump", "pg_restore"};
    int newest =
        source_version > target_version ? source_version : target_version;
    int need = newest / 10000; /* 170002 is 17, 90624 is 9 */
    const char *dir = pg_bin != NULL && pg_bin[0] != '\0' ? pg_bin : "$PATH";

    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++)
    {
        char *error = NULL;
        int major = pgtool_major(pg_bin, tools[i], &error);

        if (major < 0)
        {
            char *problem =
                xasprintf("cannot run %s from %s: %s", tools[i], dir, error);
            free(error);
            return problem;
        }
        if (major < need)
        {
            return xasprintf("%s in %s is PostgreSQL %d, older than the "
                             "newest server involved (PostgreSQL %d): "
                             "install the client tools of PostgreSQL %d or "
                             "later, or give the agent --pg-bin with a "
                             "directory that holds them",
                             tools[i], dir, major, need, need);
        }
    }
    return NULL;
}
