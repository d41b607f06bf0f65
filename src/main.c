/* main.c — the `lever` binary: parses the command name and hands over to src/cli/.
 * Exit codes: 0 ok, 1 failure, 2 usage error. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: lever <command> [options]\n\ncommands:\n");
    for (const struct lv_command *c = lv_commands; c->name != NULL; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out, "\n`lever <command> --help` describes a command. `lever --version` prints the "
                 "version.\n");
}

int cmd_version(int argc, char **argv)
{
    if (lv_cli_wants_help(argc, argv)) {
        printf("usage: lever version\n\nPrints the version of this binary.\n");
        return LV_EXIT_OK;
    }
    if (argc > 1) {
        fprintf(stderr, "usage: lever version\n");
        return LV_EXIT_USAGE;
    }
    printf("lever %s\n", LEVER_VERSION);
    return LV_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return LV_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0)
        return cmd_version(1, argv + 1);
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return LV_EXIT_OK;
    }
    for (const struct lv_command *c = lv_commands; c->name != NULL; c++)
        if (strcmp(c->name, name) == 0)
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "lever: unknown command '%s'\n\n", name);
    usage(stderr);
    return LV_EXIT_USAGE;
}
