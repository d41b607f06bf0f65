/* cmd_token.c — `lever token create|list|revoke`: API tokens from the command line, for
 * operators and scripts (the same tokens as /api/v1/api-tokens). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "app/config.h"
#include "cli/commands.h"
#include "db/db.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: lever token create --user ID --name NAME\n"
                 "       lever token list --user ID\n"
                 "       lever token revoke TOKEN_ID\n\n"
                 "create prints a new API token for the user (shown once; use it as\n"
                 "`Authorization: Bearer <token>`). list shows the user's live tokens (never\n"
                 "their secrets). revoke stops a token at once. Needs DATABASE_URL.\n");
}

/* A positive int from text, or -1. */
static int parse_id(const char *text)
{
    char *end;
    long value = text != NULL ? strtol(text, &end, 10) : -1;
    if (text == NULL || end == text || *end != '\0' || value < 1 || value > 2147483647)
        return -1;
    return (int)value;
}

static PGconn *connect_db(void)
{
    struct lv_config cfg;
    struct lv_error cfg_err;
    if (lv_config_load(&cfg, NULL, NULL, &cfg_err) != 0 ||
        lv_config_require_database(&cfg, &cfg_err) != 0) {
        fprintf(stderr, "lever token: %s\n", cfg_err.message);
        return NULL;
    }
    struct lv_db_error err;
    PGconn *conn = lv_db_connect(cfg.database_url, &err);
    if (conn == NULL)
        fprintf(stderr, "lever token: cannot connect to DATABASE_URL: %s\n", err.message);
    return conn;
}

static int create_token(int user_id, const char *name)
{
    PGconn *conn = connect_db();
    if (conn == NULL)
        return LV_EXIT_FAIL;
    char secret[LV_TOKEN_TEXT];
    struct lv_db_error err;
    int token_id = lv_token_create(conn, user_id, name, secret, &err);
    PQfinish(conn);
    if (token_id < 0) {
        if (strcmp(err.sqlstate, LV_SQLSTATE_FOREIGN_KEY_VIOLATION) == 0)
            fprintf(stderr, "lever token: no user with id %d\n", user_id);
        else
            fprintf(stderr, "lever token: %s\n", err.message);
        return LV_EXIT_FAIL;
    }
    printf("token %d created for user %d\ntoken: %s\n", token_id, user_id, secret);
    return LV_EXIT_OK;
}

static int list_tokens(int user_id)
{
    PGconn *conn = connect_db();
    if (conn == NULL)
        return LV_EXIT_FAIL;
    char user[16];
    snprintf(user, sizeof user, "%d", user_id);
    const char *params[] = {user};
    struct lv_db_error err;
    PGresult *res = lv_db_query(
        conn,
        "SELECT id, token_prefix, to_char(created_at, 'YYYY-MM-DD HH24:MI'), "
        "COALESCE(to_char(last_used_at, 'YYYY-MM-DD HH24:MI'), '-'), "
        "COALESCE(to_char(expires_at, 'YYYY-MM-DD HH24:MI'), '-'), name FROM api_tokens "
        "WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id",
        1, params, &err);
    PQfinish(conn);
    if (res == NULL) {
        fprintf(stderr, "lever token: %s\n", err.message);
        return LV_EXIT_FAIL;
    }
    printf("%-6s %-14s %-16s %-16s %-16s %s\n", "ID", "PREFIX", "CREATED", "LAST USED", "EXPIRES",
           "NAME");
    for (int row = 0; row < PQntuples(res); row++)
        printf("%-6s %-14s %-16s %-16s %-16s %s\n", PQgetvalue(res, row, 0),
               PQgetvalue(res, row, 1), PQgetvalue(res, row, 2), PQgetvalue(res, row, 3),
               PQgetvalue(res, row, 4), PQgetvalue(res, row, 5));
    PQclear(res);
    return LV_EXIT_OK;
}

static int revoke_token(int token_id)
{
    PGconn *conn = connect_db();
    if (conn == NULL)
        return LV_EXIT_FAIL;
    char id[16], revoked[16];
    snprintf(id, sizeof id, "%d", token_id);
    const char *params[] = {id};
    struct lv_db_error err;
    int rc = lv_db_query_value(conn,
                               "WITH r AS (UPDATE api_tokens SET revoked_at = CURRENT_TIMESTAMP "
                               "WHERE id = $1 AND revoked_at IS NULL RETURNING 1) "
                               "SELECT count(*) FROM r",
                               1, params, revoked, sizeof revoked, &err);
    PQfinish(conn);
    if (rc < 0) {
        fprintf(stderr, "lever token: %s\n", err.message);
        return LV_EXIT_FAIL;
    }
    if (atoi(revoked) == 0) {
        fprintf(stderr, "lever token: no live token with id %d\n", token_id);
        return LV_EXIT_FAIL;
    }
    printf("token %d revoked\n", token_id);
    return LV_EXIT_OK;
}

/* Parses --user and --name after the action word; returns 0 or a usage exit code. */
static int parse_options(int argc, char **argv, const char **user, const char **name)
{
    static const struct option options[] = {
        {"user", required_argument, NULL, 'u'},
        {"name", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt == 'u') {
            *user = optarg;
        } else if (opt == 'n') {
            *name = optarg;
        } else {
            fprintf(stderr, "lever token %s: unknown or incomplete option '%s'\n", argv[0],
                    argv[optind - 1]);
            return LV_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lever token %s: unexpected argument '%s'\n", argv[0], argv[optind]);
        return LV_EXIT_USAGE;
    }
    return 0;
}

int cmd_token(int argc, char **argv)
{
    if (lv_cli_wants_help(argc, argv)) {
        usage(stdout);
        return LV_EXIT_OK;
    }
    const char *action = argc >= 2 ? argv[1] : "";
    if (strcmp(action, "revoke") == 0) {
        int token_id = argc == 3 ? parse_id(argv[2]) : -1;
        if (token_id < 0) {
            fprintf(stderr, "lever token revoke: give exactly one token id (a positive number)\n");
            return LV_EXIT_USAGE;
        }
        return revoke_token(token_id);
    }
    if (strcmp(action, "create") != 0 && strcmp(action, "list") != 0) {
        usage(stderr);
        return LV_EXIT_USAGE;
    }
    const char *user = NULL, *name = NULL;
    int rc = parse_options(argc - 1, argv + 1, &user, &name);
    if (rc != 0)
        return rc;
    int user_id = parse_id(user);
    if (user_id < 0) {
        fprintf(stderr, "lever token %s: --user ID is required (a positive number)\n", action);
        return LV_EXIT_USAGE;
    }
    if (strcmp(action, "list") == 0) {
        if (name != NULL) {
            fprintf(stderr, "lever token list: --name does not apply\n");
            return LV_EXIT_USAGE;
        }
        return list_tokens(user_id);
    }
    if (name == NULL || name[0] == '\0' || strlen(name) > 100) {
        fprintf(stderr, "lever token create: --name is required (1 to 100 characters)\n");
        return LV_EXIT_USAGE;
    }
    return create_token(user_id, name);
}
