/*
 * coordinator/main.c
 *     pgferry-coordinator: the only stateful process. Opens the catalog
 *     in the state directory, binds the CLI and agent sockets, and runs.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "coordinator/server.h"

static void
s_usage(FILE *out)
{
    fprintf(out, "usage: pgferry-coordinator --state-dir DIR "
                 "[--listen tcp://*:5555] [--agents tcp://*:5556] "
                 "[--log-level LEVEL]\n"
                 "                           [--curve-secret FILE "
                 "--curve-clients DIR]\n");
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
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *state_dir = NULL;
    const char *listen = "tcp://*:5555";
    const char *agents = "tcp://*:5556";
    const char *curve_secret = NULL;
    const char *curve_clients = NULL;
    int c = 0;

    while ((c = getopt_long(argc, argv, "s:l:a:L:k:K:h", long_opts, NULL)) !=
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
        server_new(state_dir, listen, agents, curve_secret, curve_clients);
    if (coord == NULL)
    {
        return 1;
    }
    log_info("listen=%s agents=%s state_dir=%s coordinator started", listen,
             agents, state_dir);
    int rc = server_run(coord);
    log_info("coordinator stopping");
    server_destroy(&coord);
    return rc;
}
