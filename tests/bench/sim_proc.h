/*
 * tests/bench/sim_proc.h
 *     The coordinator under test: a real pgconvoy-coordinator process,
 *     started in a state directory with its log there, watched through
 *     /proc (memory, CPU), and stopped.
 *
 * Start it before any ZeroMQ context exists in this process: it is
 * forked, and a fork should carry no context's threads.
 */
#ifndef PGCONVOY_BENCH_SIM_PROC_H
#define PGCONVOY_BENCH_SIM_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct sim_proc_t sim_proc_t;

/*
 * Starts binary --state-dir state_dir --listen cli_endpoint --agents
 * agents_endpoint --log-level log_level, its output appended to
 * state_dir/coordinator.log. NULL (logged) if it could not be started.
 */
sim_proc_t *sim_proc_start(const char *binary, const char *state_dir,
                           const char *cli_endpoint,
                           const char *agents_endpoint, const char *log_level);
/* Stops it (SIGTERM, then SIGKILL after 5 s) if it still runs. */
void sim_proc_stop(sim_proc_t **self_p);

pid_t sim_proc_pid(const sim_proc_t *self);
/* False once it has exited (reaped here). */
bool sim_proc_is_running(sim_proc_t *self);
/* VmRSS and VmHWM in kB, from /proc/PID/status. Returns 0 or -1. */
int sim_proc_memory(const sim_proc_t *self, int64_t *rss_kb, int64_t *hwm_kb);
/* User plus system CPU seconds used so far, from /proc/PID/stat; -1 if
 * unreadable. */
double sim_proc_cpu_seconds(const sim_proc_t *self);
/* Over all its threads, from /proc/PID/task/TID/schedstat: seconds run
 * on a CPU, and seconds runnable but waiting for one (a busy machine).
 * Returns 0 or -1. */
int sim_proc_schedstat(const sim_proc_t *self, double *run_s, double *wait_s);

#endif
