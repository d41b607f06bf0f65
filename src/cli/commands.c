/* commands.c — the table that maps `lever <command>` to its implementation. Add a command
 * by writing src/cli/cmd_NAME.c and one line here. */
#include "cli/commands.h"

#include <string.h>

int cmd_version(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_bars(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_backtest(int argc, char **argv);

const struct lv_command lv_commands[] = {
    {"version", "print the version", cmd_version},
    {"migrate", "apply pending database migrations (DATABASE_URL)", cmd_migrate},
    {"bars", "import and list daily bars", cmd_bars},
    {"serve", "serve the HTTP API, web UI and batch workers", cmd_serve},
    {"worker", "run batch backtest workers only (more machines, one database)", cmd_worker},
    {"user", "create a local user and print its API token", cmd_user},
    {"token", "create, list and revoke API tokens", cmd_token},
    {"backtest", "run one backtest and print its metrics", cmd_backtest},
    {NULL, NULL, NULL},
};

int lv_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}
