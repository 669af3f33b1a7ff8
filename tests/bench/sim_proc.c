/*
 * tests/bench/sim_proc.c
 *     Starting, watching and stopping the coordinator under test.
 *
 * Only the process started here is ever signalled, by its pid; it gets
 * SIGTERM too if this process dies first (PR_SET_PDEATHSIG), so that no
 * coordinator outlives its benchmark.
 */
#include "sim_proc.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strbuf.h"

#define SIM_PROC_STOP_WAIT_MS 5000

struct sim_proc_t
{
    pid_t pid;   /* the coordinator */
    bool exited; /* reaped: pid is no longer ours to signal */
};

sim_proc_t *
sim_proc_start(const char *binary, const char *state_dir,
               const char *cli_endpoint, const char *agents_endpoint,
               const char *log_level)
{
    char *log_path = xasprintf("%s/coordinator.log", state_dir);
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    sim_proc_t *self = NULL;
    pid_t pid = 0;

    if (fd < 0)
    {
        log_error("path=%s could not open the coordinator's log: %s", log_path,
                  strerror(errno));
        free(log_path);
        return NULL;
    }
    if (access(binary, X_OK) != 0)
    {
        log_error("path=%s cannot run the coordinator: %s", binary,
                  strerror(errno));
        close(fd);
        free(log_path);
        return NULL;
    }
    fflush(NULL); /* or the child would print our buffered output too */
    pid = fork();
    if (pid < 0)
    {
        log_error("could not fork: %s", strerror(errno));
        close(fd);
        free(log_path);
        return NULL;
    }
    if (pid == 0)
    {
        char *argv[] = {(char *) binary,          "--state-dir",
                        (char *) state_dir,       "--listen",
                        (char *) cli_endpoint,    "--agents",
                        (char *) agents_endpoint, "--log-level",
                        (char *) log_level,       NULL};
        /* a benchmark killed outright takes its coordinator with it */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
        {
            _exit(127);
        }
        /* dup2 clears O_CLOEXEC on the copies */
        if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
        {
            _exit(127);
        }
        execv(binary, argv);
        _exit(127);
    }
    close(fd);
    free(log_path);
    self = xcalloc(1, sizeof *self);
    self->pid = pid;
    return self;
}

pid_t
sim_proc_pid(const sim_proc_t *self)
{
    return self->pid;
}

bool
sim_proc_is_running(sim_proc_t *self)
{
    int status = 0;

    if (!self->exited && waitpid(self->pid, &status, WNOHANG) == self->pid)
    {
        self->exited = true;
        if (WIFEXITED(status))
        {
            log_error("pid=%d the coordinator exited with code %d",
                      (int) self->pid, WEXITSTATUS(status));
        }
        else if (WIFSIGNALED(status))
        {
            log_error("pid=%d the coordinator was killed by signal %d",
                      (int) self->pid, WTERMSIG(status));
        }
    }
    return !self->exited;
}

int
sim_proc_memory(const sim_proc_t *self, int64_t *rss_kb, int64_t *hwm_kb)
{
    char path[64];
    char line[256];
    FILE *file = NULL;
    int found = 0;

    snprintf(path, sizeof path, "/proc/%d/status", (int) self->pid);
    file = fopen(path, "r");
    if (file == NULL)
    {
        return -1;
    }
    while (fgets(line, sizeof line, file) != NULL)
    {
        /* "VmRSS:\t  123456 kB" */
        if (strncmp(line, "VmRSS:", 6) == 0)
        {
            *rss_kb = strtoll(line + 6, NULL, 10);
            found++;
        }
        else if (strncmp(line, "VmHWM:", 6) == 0)
        {
            *hwm_kb = strtoll(line + 6, NULL, 10);
            found++;
        }
    }
    fclose(file);
    return found == 2 ? 0 : -1;
}

double
sim_proc_cpu_seconds(const sim_proc_t *self)
{
    char path[64];
    char text[1024];
    FILE *file = NULL;
    size_t len = 0;
    unsigned long long ticks = 0;
    char *after = NULL;
    char *save = NULL;
    int field = 3;

    snprintf(path, sizeof path, "/proc/%d/stat", (int) self->pid);
    file = fopen(path, "r");
    if (file == NULL)
    {
        return -1;
    }
    len = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[len] = '\0';
    /* the command name may hold spaces: fields are counted after its ')'
     * (field 3, state); utime and stime are fields 14 and 15 */
    after = strrchr(text, ')');
    if (after == NULL)
    {
        return -1;
    }
    for (char *token = strtok_r(after + 1, " ", &save);
         token != NULL && field <= 15; token = strtok_r(NULL, " ", &save))
    {
        if (field == 14 || field == 15)
        {
            ticks += strtoull(token, NULL, 10);
        }
        field++;
    }
    if (field <= 15)
    {
        return -1;
    }
    return (double) ticks / (double) sysconf(_SC_CLK_TCK);
}

int
sim_proc_schedstat(const sim_proc_t *self, double *run_s, double *wait_s)
{
    char path[64];
    DIR *dir = NULL;
    struct dirent *entry = NULL;
    unsigned long long run = 0;
    unsigned long long wait = 0;

    snprintf(path, sizeof path, "/proc/%d/task", (int) self->pid);
    dir = opendir(path);
    if (dir == NULL)
    {
        return -1;
    }
    while ((entry = readdir(dir)) != NULL)
    {
        char file[sizeof path + sizeof entry->d_name + 16];
        char line[128];
        FILE *stat = NULL;

        if (entry->d_name[0] == '.')
        {
            continue;
        }
        snprintf(file, sizeof file, "%s/%s/schedstat", path, entry->d_name);
        stat = fopen(file, "r");
        /* "run_ns wait_ns timeslices" */
        if (stat != NULL && fgets(line, sizeof line, stat) != NULL)
        {
            char *end = NULL;
            run += strtoull(line, &end, 10);
            wait += strtoull(end, NULL, 10);
        }
        if (stat != NULL)
        {
            fclose(stat);
        }
    }
    closedir(dir);
    *run_s = (double) run / 1e9;
    *wait_s = (double) wait / 1e9;
    return 0;
}

void
sim_proc_stop(sim_proc_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    sim_proc_t *self = *self_p;
    int status = 0;

    if (!self->exited)
    {
        (void) kill(self->pid, SIGTERM);
        for (int waited = 0; waited < SIM_PROC_STOP_WAIT_MS; waited += 10)
        {
            if (waitpid(self->pid, &status, WNOHANG) == self->pid)
            {
                self->exited = true;
                break;
            }
            struct timespec pause = {0, 10L * 1000 * 1000};
            (void) nanosleep(&pause, NULL);
        }
    }
    if (!self->exited)
    {
        log_warn("pid=%d the coordinator did not stop within %d ms: killed",
                 (int) self->pid, SIM_PROC_STOP_WAIT_MS);
        (void) kill(self->pid, SIGKILL);
        (void) waitpid(self->pid, &status, 0);
    }
    free(self);
    *self_p = NULL;
}
