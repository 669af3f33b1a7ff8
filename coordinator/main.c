/*
 * coordinator/main.c
 *     pgconvoy-coordinator: the only stateful process. Opens the catalog
 *     in the state directory, binds the CLI and agent sockets, and runs.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/cmdline.h"
#include "common/config.h"
#include "common/curve.h"
#include "common/log.h"
#include "common/version.h"
#include "coordinator/http.h"
#include "coordinator/secrets.h"
#include "coordinator/server.h"
#include "coordinator/store.h"

/* The options, their help and what the parser accepts: one table. */
static const cmdline_option_t s_options[] = {
    {"state-dir", 's', "DIR", 's', "where the catalog is kept (required)"},
    {"listen", 'l', "ENDPOINT", 'l',
     "the CLI's socket (default tcp://127.0.0.1:5555)"},
    {"agents", 'a', "ENDPOINT", 'a',
     "the agents' socket (default tcp://127.0.0.1:5556)"},
    {"http", 'H', "HOST:PORT", 'H',
     "serve /metrics, /healthz and /readyz (default off)"},
    {"log-level", 'L', "LEVEL", 'L',
     "trace, debug, info, warn or error (default info)"},
    {"curve-secret", 'k', "FILE", 'k',
     "its CURVE key pair; with --curve-clients"},
    {"curve-clients", 'K', "DIR", 'K',
     "public certificates of the clients let in"},
    {"insecure", 'I', NULL, 'I', "bind other hosts' addresses without CURVE"},
    {"secrets-key", 'S', "FILE", 'S',
     "32 random bytes that seal stored passwords"},
    {"agent-timeout", 'T', "DURATION", 'T',
     "an agent silent this long is lost, its units placed again; its "
     "lease is 2 s shorter (default 20s, at least 3s)"},
    {"slot-wal-warn", 'W', "SIZE", 'W',
     "warn past this much WAL held (default 10GB)"},
    {"version", 0, NULL, CMDLINE_VERSION,
     "print the versions (catalog too) and exit"},
    {NULL, 0, NULL, 0, NULL}};

static void
s_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s --state-dir DIR [OPTION]...\n"
            "The pgconvoy coordinator: keeps the catalog of projects and "
            "tasks, plans the\nunits and hands them to the agents.\n"
            "\n"
            "Options:\n",
            PGCONVOY_COORDINATOR_NAME);
    cmdline_print_options(s_options, out);
    fprintf(out,
            "\n"
            "Without CURVE keys both sockets must be local (loopback or "
            "ipc://): anyone who\n"
            "reaches them could start a copy of a database to a server of "
            "theirs. --insecure\n"
            "binds them elsewhere anyway. With --curve-secret (the "
            "coordinator's key pair)\n"
            "and --curve-clients (a directory of the agents' and operators' "
            "public\n"
            "certificates), only those clients get in, on both sockets, "
            "encrypted.\n"
            "\n"
            "--http HOST:PORT must be a loopback address too, unless "
            "--insecure: it has no\n"
            "CURVE, and its /metrics names every database and table "
            "migrated. Off by default.\n"
            "\n"
            "--secrets-key: 32 random bytes, mode 600 (head -c 32 "
            "/dev/urandom > FILE).\n"
            "The tasks' passwords are kept sealed with it in the catalog, "
            "so that a task\n"
            "goes on after a restart; without it they are in memory "
            "only.\n");
}

/* --version: the release, the protocol agents and the CLI must speak
 * and the catalog layout this build opens */
static void
s_version(void)
{
    version_print(stdout, PGCONVOY_COORDINATOR_NAME);
    printf("catalog layout %d\n", STORE_VERSION);
}

int
main(int argc, char **argv)
{
    const char *state_dir = NULL;
    const char *listen = "tcp://127.0.0.1:5555";
    const char *agents = "tcp://127.0.0.1:5556";
    const char *http = NULL;
    bool insecure = false;
    const char *secrets_key = NULL;
    int64_t slot_wal_warn = COORD_SLOT_WAL_WARN;
    int64_t agent_timeout_ms = COORD_AGENT_TIMEOUT_MS;
    const char *curve_secret = NULL;
    const char *curve_clients = NULL;
    cmdline_t cmdline;
    int c = 0;

    cmdline_init(&cmdline, s_options, PGCONVOY_COORDINATOR_NAME, NULL, false);
    while ((c = cmdline_next(&cmdline, argc, argv)) != CMDLINE_END)
    {
        switch (c)
        {
            case 's':
                state_dir = optarg;
                break;
            case 'l':
                listen = optarg;
                break;
            case 'a':
                agents = optarg;
                break;
            case 'H':
                http = optarg;
                break;
            case 'k':
                curve_secret = optarg;
                break;
            case 'K':
                curve_clients = optarg;
                break;
            case 'I':
                insecure = true;
                break;
            case 'S':
                secrets_key = optarg;
                break;
            case 'W':
            {
                char *error = NULL;
                if (config_parse_size(optarg, &slot_wal_warn, &error) != 0)
                {
                    fprintf(stderr,
                            "pgconvoy-coordinator: error: --slot-wal-warn: "
                            "%s\n",
                            error);
                    free(error);
                    return 2;
                }
                break;
            }
            case 'T':
            {
                char *error = NULL;
                if (config_parse_duration(optarg, &agent_timeout_ms,
                                          &error) != 0 ||
                    agent_timeout_ms < COORD_AGENT_TIMEOUT_MIN_MS)
                {
                    fprintf(stderr,
                            "pgconvoy-coordinator: error: --agent-timeout: "
                            "%s\n",
                            error != NULL ? error
                                          : "expected at least 3s (a lease "
                                            "of one heartbeat)");
                    free(error);
                    return 2;
                }
                break;
            }
            case 'L':
            {
                log_level_t level;
                if (log_parse_level(optarg, &level) != 0)
                {
                    fprintf(stderr,
                            "pgconvoy-coordinator: error: "
                            "--log-level: value \"%s\" is not one "
                            "of trace, debug, info, warn, error\n",
                            optarg);
                    return 2;
                }
                log_set_level(level);
                break;
            }
            case CMDLINE_HELP:
                s_usage(stdout);
                return 0;
            case CMDLINE_VERSION:
                s_version();
                return 0;
            default: /* CMDLINE_ERROR: named on stderr */
                return 2;
        }
    }
    if ((curve_secret == NULL) != (curve_clients == NULL))
    {
        fprintf(stderr, "pgconvoy-coordinator: error: --curve-secret and "
                        "--curve-clients go together\n");
        return 2;
    }
    if (curve_secret == NULL && !insecure)
    {
        const char *names[2] = {"--listen", "--agents"};
        const char *endpoints[2] = {listen, agents};
        for (int i = 0; i < 2; i++)
        {
            if (!curve_endpoint_is_local(endpoints[i]))
            {
                fprintf(stderr,
                        "pgconvoy-coordinator: error: %s: value \"%s\" can be "
                        "reached from other hosts, and without CURVE keys "
                        "anyone who reaches it could steer the coordinator: "
                        "expected a loopback address (tcp://127.0.0.1:PORT) "
                        "or ipc://PATH, --curve-secret and --curve-clients, "
                        "or --insecure\n",
                        names[i], endpoints[i]);
                return 2;
            }
        }
    }
    /* no CURVE on HTTP: --insecure alone lets it out. Metrics carry no
     * secret, but they do name every database and table migrated. */
    if (http != NULL && !insecure && !http_address_is_local(http))
    {
        fprintf(stderr,
                "pgconvoy-coordinator: error: --http: value \"%s\" can be "
                "reached from other hosts, and anyone who reaches it could "
                "read the names of the databases and tables migrated: "
                "expected a loopback address (127.0.0.1:PORT), or "
                "--insecure\n",
                http);
        return 2;
    }
    if (secrets_key != NULL && secrets_check_key(secrets_key) != 0)
    {
        fprintf(stderr, "pgconvoy-coordinator: error: --secrets-key: "
                        "expected a file of 32 random bytes that only its "
                        "owner reads (head -c 32 /dev/urandom > FILE; "
                        "chmod 600 FILE)\n");
        return 2;
    }
    if (state_dir == NULL || optind < argc)
    {
        fprintf(stderr, "pgconvoy-coordinator: error: --state-dir is "
                        "required\n");
        s_usage(stderr);
        return 2;
    }
    log_set_context("coordinator");
    zsys_init();
    coord_t *coord = server_new(state_dir, listen, agents, curve_secret,
                                curve_clients, secrets_key, http);
    if (coord == NULL)
    {
        return 1;
    }
    coord->slot_wal_warn = slot_wal_warn;
    coord->agent_timeout_ms = agent_timeout_ms;
    log_info("listen=%s agents=%s http=%s state_dir=%s coordinator started",
             listen, agents, http != NULL ? http : "off", state_dir);
    int rc = server_run(coord);
    log_info("coordinator stopping");
    server_destroy(&coord);
    return rc;
}
