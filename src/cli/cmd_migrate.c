/* cmd_migrate.c — `lever migrate`: brings the database named by DATABASE_URL up to the
 * schema this binary knows, printing each migration it applies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "db/db.h"
#include "db/migrate.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: lever migrate\n\n"
                 "Applies the pending database migrations to the database named by the\n"
                 "DATABASE_URL environment variable (a libpq URL or connection string), each\n"
                 "in its own transaction. Safe to run from several processes at once.\n"
                 "Prints one line per migration applied; prints nothing when up to date.\n"
                 "Exit status: 0 up to date, 1 failure, 2 usage or DATABASE_URL unset.\n");
}

static void print_applied(const struct lv_migration *migration, void *arg)
{
    (void)arg;
    printf("applied %04d_%s\n", migration->version, migration->name);
    fflush(stdout);
}

int cmd_migrate(int argc, char **argv)
{
    if (lv_cli_wants_help(argc, argv)) {
        usage(stdout);
        return LV_EXIT_OK;
    }
    if (argc > 1) {
        fprintf(stderr, "lever migrate: unexpected argument '%s'\n\n", argv[1]);
        usage(stderr);
        return LV_EXIT_USAGE;
    }
    const char *url = getenv("DATABASE_URL");
    if (url == NULL || url[0] == '\0') {
        fprintf(stderr, "lever migrate: DATABASE_URL is not set; set it to the database to "
                        "migrate, e.g. postgresql://user@localhost:5432/lever\n");
        return LV_EXIT_USAGE;
    }
    struct lv_db_error err;
    PGconn *conn = lv_db_connect(url, &err);
    if (conn == NULL) {
        fprintf(stderr, "lever migrate: DATABASE_URL: %s\n", err.message);
        return LV_EXIT_FAIL;
    }
    int applied = lv_migrate(conn, print_applied, NULL, &err);
    PQfinish(conn);
    if (applied < 0) {
        fprintf(stderr, "lever migrate: %s\n", err.message);
        return LV_EXIT_FAIL;
    }
    return LV_EXIT_OK;
}
