/* cmd_user.c — `lever user create`: a local user and its first API token, so Lever is usable
 * without Discord (tests, scripts, a single trader on a laptop). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "api/auth.h"
#include "app/config.h"
#include "cli/commands.h"
#include "db/db.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: lever user create --name NAME [--discord-id ID]\n\n"
                 "Creates a user and prints a new API token (shown once; use it as\n"
                 "`Authorization: Bearer <token>`). Needs DATABASE_URL.\n");
}

static int create_user(const char *name, const char *discord_id)
{
    struct lv_config cfg;
    struct lv_error cfg_err;
    if (lv_config_load(&cfg, NULL, NULL, &cfg_err) != 0 ||
        lv_config_require_database(&cfg, &cfg_err) != 0) {
        fprintf(stderr, "lever user: %s\n", cfg_err.message);
        return LV_EXIT_FAIL;
    }
    struct lv_db_error err;
    PGconn *conn = lv_db_connect(cfg.database_url, &err);
    if (conn == NULL) {
        fprintf(stderr, "lever user: cannot connect to DATABASE_URL: %s\n", err.message);
        return LV_EXIT_FAIL;
    }
    char secret[LV_TOKEN_TEXT];
    int status = LV_EXIT_FAIL;
    int user_id = -1;
    if (lv_db_exec(conn, "BEGIN", 0, NULL, &err) == 0 &&
        (user_id = lv_user_create_local(conn, name, discord_id, &err)) > 0 &&
        lv_token_create(conn, user_id, "cli", secret, &err) > 0 &&
        lv_db_exec(conn, "COMMIT", 0, NULL, &err) == 0) {
        printf("user %d created\ntoken: %s\n", user_id, secret);
        status = LV_EXIT_OK;
    } else if (strcmp(err.sqlstate, LV_SQLSTATE_UNIQUE_VIOLATION) == 0) {
        fprintf(stderr, "lever user: a user with discord id '%s' already exists\n",
                discord_id != NULL ? discord_id : "");
    } else {
        fprintf(stderr, "lever user: %s\n", err.message);
    }
    PQfinish(conn);
    return status;
}

int cmd_user(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return LV_EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "create") != 0) {
        usage(stderr);
        return LV_EXIT_USAGE;
    }
    static const struct option options[] = {
        {"name", required_argument, NULL, 'n'},
        {"discord-id", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *name = NULL, *discord_id = NULL;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc - 1, argv + 1, "", options, NULL)) != -1) {
        switch (opt) {
        case 'n':
            name = optarg;
            break;
        case 'd':
            discord_id = optarg;
            break;
        case 'h':
            usage(stdout);
            return LV_EXIT_OK;
        default:
            /* getopt has already stepped past the offending word. */
            fprintf(stderr, "lever user create: unknown or incomplete option '%s'\n", argv[optind]);
            usage(stderr);
            return LV_EXIT_USAGE;
        }
    }
    if (optind < argc - 1) {
        fprintf(stderr, "lever user create: unexpected argument '%s'\n", argv[optind + 1]);
        return LV_EXIT_USAGE;
    }
    if (name == NULL || name[0] == '\0' || strlen(name) > 255) {
        fprintf(stderr, "lever user create: --name is required (1 to 255 characters)\n");
        return LV_EXIT_USAGE;
    }
    return create_user(name, discord_id);
}
