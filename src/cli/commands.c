/* commands.c — the table that maps `lever <command>` to its implementation. Add a command
 * by writing src/cli/cmd_NAME.c and one line here. */
#include "cli/commands.h"

#include <string.h>

int cmd_version(int argc, char **argv);

const struct lv_command lv_commands[] = {
    {"version", "print the version", cmd_version},
    {NULL, NULL, NULL},
};

int lv_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}
