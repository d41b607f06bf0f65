/* test_cli.c — the `lever` command line: version, help, usage errors and exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lever_proc.h"

static char out[65536], err[65536];

static int run(const char *const *args)
{
    return lever_run(args, NULL, out, sizeof out, err, sizeof err);
}

static void version_and_help(void **state)
{
    (void)state;
    const char *version[] = {"--version", NULL};
    assert_int_equal(run(version), 0);
    assert_non_null(strstr(out, "lever "));
    const char *help[] = {"--help", NULL};
    assert_int_equal(run(help), 0);
    assert_non_null(strstr(out, "serve"));
    assert_non_null(strstr(out, "migrate"));
}

static void unknown_command_is_a_usage_error(void **state)
{
    (void)state;
    const char *args[] = {"frobnicate", NULL};
    assert_int_equal(run(args), 2);
    assert_non_null(strstr(err, "unknown command 'frobnicate'"));
    assert_non_null(strstr(err, "usage: lever"));
    const char *none[] = {NULL};
    assert_int_equal(run(none), 2);
}

/* Every command in `lever --help` answers --help with exit 0 and its own usage text. */
static void every_command_has_help(void **state)
{
    (void)state;
    const char *help[] = {"--help", NULL};
    assert_int_equal(run(help), 0);
    char listing[65536];
    strcpy(listing, out);
    int commands = 0;
    for (char *line = strtok(listing, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char name[64];
        if (strncmp(line, "  ", 2) != 0 || sscanf(line, "%63s", name) != 1)
            continue;
        const char *args[] = {name, "--help", NULL};
        int rc = run(args);
        if (rc != 0)
            fail_msg("lever %s --help exited %d: %s", name, rc, err);
        if (strstr(out, "usage") == NULL && strstr(out, "Usage") == NULL)
            fail_msg("lever %s --help printed no usage", name);
        commands++;
    }
    assert_true(commands >= 4);
}

static void bad_options_are_usage_errors(void **state)
{
    (void)state;
    const char *no_name[] = {"user", "create", NULL};
    assert_int_equal(run(no_name), 2);
    assert_non_null(strstr(err, "--name"));
    const char *bad_option[] = {"user", "create", "--frob", NULL};
    assert_int_equal(run(bad_option), 2);
    assert_non_null(strstr(err, "--frob"));
    const char *serve_arg[] = {"serve", "extra", NULL};
    assert_int_equal(run(serve_arg), 2);
}

static void bad_configuration_names_the_variable(void **state)
{
    (void)state;
    const char *args[] = {"serve", NULL};
    const char *env[] = {"LEVER_LISTEN=nonsense", NULL};
    assert_int_equal(lever_run(args, env, out, sizeof out, err, sizeof err), 1);
    assert_non_null(strstr(err, "LEVER_LISTEN"));
    assert_non_null(strstr(err, "HOST:PORT"));
    const char *key_env[] = {"LEVER_SECRET_KEY=short", NULL};
    assert_int_equal(lever_run(args, key_env, out, sizeof out, err, sizeof err), 1);
    assert_non_null(strstr(err, "LEVER_SECRET_KEY"));
    const char *workers_env[] = {"LEVER_WORKERS=-3", NULL};
    assert_int_equal(lever_run(args, workers_env, out, sizeof out, err, sizeof err), 1);
    assert_non_null(strstr(err, "LEVER_WORKERS"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version_and_help),
        cmocka_unit_test(unknown_command_is_a_usage_error),
        cmocka_unit_test(every_command_has_help),
        cmocka_unit_test(bad_options_are_usage_errors),
        cmocka_unit_test(bad_configuration_names_the_variable),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
