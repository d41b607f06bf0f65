/* commands.h — the `lever` subcommands. Each takes its own argv (argv[0] = command name),
 * prints its own --help, and returns the process exit code: 0 ok, 1 failure, 2 usage. */
#ifndef LEVER_CLI_COMMANDS_H
#define LEVER_CLI_COMMANDS_H

enum { LV_EXIT_OK = 0, LV_EXIT_FAIL = 1, LV_EXIT_USAGE = 2 };

struct lv_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

/* The table of commands, terminated by an entry with name == NULL. */
extern const struct lv_command lv_commands[];

/* Shared option handling: true when argv holds -h/--help (then the caller prints usage). */
int lv_cli_wants_help(int argc, char **argv);

#endif
