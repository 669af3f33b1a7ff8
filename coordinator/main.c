/*
 * coordinator/main.c
 *     pgferry-coordinator: the only stateful process. Opens the catalog
 *     in the state directory, binds the CLI and agent sockets, and runs.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/config.h"
#include "common/curve.h"
#include "common/log.h"
#include "coordinator/secrets.h"
#include "coordinator/server.h"

static void
s_usage(FILE *out)
{
    fprintf(out,
            "usage: pgferry-coordinator --state-dir DIR "
            "[--listen tcp://127.0.0.1:5555]\n"
            "                           [--agents tcp://127.0.0.1:5556] "
            "[--log-level LEVEL]\n"
            "                           [--curve-secret FILE "
            "--curve-clients DIR] [--insecure]\n"
            "                           [--secrets-key FILE] "
            "[--slot-wal-warn 10GB]\n"
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
            "--secrets-key: 32 random bytes, mode 600 (head -c 32 "
            "/dev/urandom > FILE).\n"
            "The tasks' passwords are kept sealed with it in the catalog, "
            "so that a task\n"
            "goes on after a restart; without it they are in memory "
            "only.\n");
}

int
main(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"state-dir", required_argument, NULL, 's'},
        {"listen", required_argument, NULL, 'l'},
        {"agents", required_argument, NULL, 'a'},
        {"log-level", required_argument, NULL, 'L'},
        {"curve-secret", required_argument, NULL, 'k'},
        {"curve-clients", required_argument, NULL, 'K'},
        {"insecure", no_argument, NULL, 'I'},
        {"secrets-key", required_argument, NULL, 'S'},
        {"slot-wal-warn", required_argument, NULL, 'W'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *state_dir = NULL;
    const char *listen = "tcp://127.0.0.1:5555";
    const char *agents = "tcp://127.0.0.1:5556";
    bool insecure = false;
    const char *secrets_key = NULL;
    int64_t slot_wal_warn = COORD_SLOT_WAL_WARN;
    const char *curve_secret = NULL;
    const char *curve_clients = NULL;
    int c = 0;

    while ((c = getopt_long(argc, argv, "s:l:a:L:k:K:IS:W:h", long_opts, NULL)) !=
           -1)
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
                            "pgferry-coordinator: error: --slot-wal-warn: "
                            "%s\n",
                            error);
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
                            "pgferry-coordinator: error: "
                            "--log-level: value \"%s\" is not one "
                            "of trace, debug, info, warn, error\n",
                            optarg);
                    return 2;
                }
                log_set_level(level);
                break;
            }
            case 'h':
                s_usage(stdout);
                return 0;
            default:
                s_usage(stderr);
                return 2;
        }
    }
    if ((curve_secret == NULL) != (curve_clients == NULL))
    {
        fprintf(stderr, "pgferry-coordinator: error: --curve-secret and "
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
                        "pgferry-coordinator: error: %s: value \"%s\" can be "
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
    if (secrets_key != NULL && secrets_check_key(secrets_key) != 0)
    {
        fprintf(stderr, "pgferry-coordinator: error: --secrets-key: "
                        "expected a file of 32 random bytes that only its "
                        "owner reads (head -c 32 /dev/urandom > FILE; "
                        "chmod 600 FILE)\n");
        return 2;
    }
    if (state_dir == NULL || optind < argc)
    {
        fprintf(stderr, "pgferry-coordinator: error: --state-dir is "
                        "required\n");
        s_usage(stderr);
        return 2;
    }
    log_set_context("coordinator");
    zsys_init();
    coord_t *coord =
        server_new(state_dir, listen, agents, curve_secret, curve_clients,
                   secrets_key);
    if (coord == NULL)
    {
        return 1;
    }
    coord->slot_wal_warn = slot_wal_warn;
    log_info("listen=%s agents=%s state_dir=%s coordinator started", listen,
             agents, state_dir);
    int rc = server_run(coord);
    log_info("coordinator stopping");
    server_destroy(&coord);
    return rc;
}
