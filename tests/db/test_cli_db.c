/* test_cli_db.c — the database commands of the real `lever` binary ($LEVER_BIN): `lever
 * migrate` (messages, exit codes, two processes at once) and `lever bars import/list`. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "db/migrate.h"
#include "db_fixture.h"

/* ---- Running lever ------------------------------------------------------------------------ */

struct run {
    int status;      /* exit code, or -1 when killed by a signal */
    char out[16384]; /* stdout, truncated */
    char err[4096];  /* stderr, truncated */
    char out_path[64];
    char err_path[64];
    pid_t pid;
};

static const char *lever_bin(void)
{
    const char *bin = getenv("LEVER_BIN");
    if (bin == NULL || bin[0] == '\0')
        fail_msg("LEVER_BIN is not set (scripts/run-tests sets it to the built lever)");
    return bin;
}

/* Starts `lever ARGS…` with DATABASE_URL = url (unset when url is NULL), stdout and stderr
 * going to temporary files. */
static void start_lever(struct run *run, const char *url, const char *const *args)
{
    memset(run, 0, sizeof *run);
    snprintf(run->out_path, sizeof run->out_path, "/tmp/lever-cli-out.XXXXXX");
    snprintf(run->err_path, sizeof run->err_path, "/tmp/lever-cli-err.XXXXXX");
    int out_fd = mkstemp(run->out_path);
    int err_fd = mkstemp(run->err_path);
    assert_true(out_fd >= 0 && err_fd >= 0);
    const char *argv[16] = {lever_bin()};
    int argc = 1;
    for (; args[argc - 1] != NULL && argc < 15; argc++)
        argv[argc] = args[argc - 1];
    argv[argc] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        if (url != NULL)
            setenv("DATABASE_URL", url, 1);
        else
            unsetenv("DATABASE_URL");
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(out_fd);
    close(err_fd);
    run->pid = pid;
}

static void slurp(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(buf, 1, size - 1, f) : 0;
    buf[n] = '\0';
    if (f != NULL)
        fclose(f);
    unlink(path);
}

static int finish_lever(struct run *run)
{
    int status;
    assert_int_equal(waitpid(run->pid, &status, 0), run->pid);
    run->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    slurp(run->out_path, run->out, sizeof run->out);
    slurp(run->err_path, run->err, sizeof run->err);
    return run->status;
}

static int run_lever(struct run *run, const char *url, const char *const *args)
{
    start_lever(run, url, args);
    return finish_lever(run);
}

static int count_lines(const char *text)
{
    int n = 0;
    for (; *text != '\0'; text++)
        n += *text == '\n';
    return n;
}

static int count_occurrences(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* ---- lever migrate ------------------------------------------------------------------------ */

static void test_migrate_usage_and_configuration_errors(void **state)
{
    (void)state;
    static struct run run; /* large buffers: keep them off the stack */
    assert_int_equal(run_lever(&run, NULL, (const char *[]){"migrate", "--help", NULL}), 0);
    assert_non_null(strstr(run.out, "usage: lever migrate"));
    assert_non_null(strstr(run.out, "DATABASE_URL"));

    assert_int_equal(run_lever(&run, NULL, (const char *[]){"migrate", "extra", NULL}), 2);
    assert_non_null(strstr(run.err, "unexpected argument 'extra'"));

    assert_int_equal(run_lever(&run, NULL, (const char *[]){"migrate", NULL}), 2);
    assert_non_null(strstr(run.err, "DATABASE_URL is not set"));

    assert_int_equal(run_lever(&run, "postgresql://postgres@127.0.0.1:1/lever",
                               (const char *[]){"migrate", NULL}),
                     1);
    assert_non_null(strstr(run.err, "DATABASE_URL"));
    assert_non_null(strstr(run.err, "cannot connect"));
    assert_string_equal(run.out, "");
}

static void test_migrate_applies_then_is_quiet(void **state)
{
    static struct run run;
    struct db_fixture *fx = *state;
    assert_int_equal(run_lever(&run, fx->url, (const char *[]){"migrate", NULL}), 0);
    assert_int_equal(count_lines(run.out), (int)lv_migrations_count);
    assert_non_null(strstr(run.out, "applied 0001_users\n"));
    assert_non_null(strstr(run.out, "applied 0010_api_usage_logs\n"));
    assert_string_equal(run.err, "");

    assert_int_equal(run_lever(&run, fx->url, (const char *[]){"migrate", NULL}), 0);
    assert_string_equal(run.out, "");
    assert_string_equal(run.err, "");
}

static void test_two_concurrent_migrations(void **state)
{
    static struct run first, second;
    struct db_fixture *fx = *state;
    start_lever(&first, fx->url, (const char *[]){"migrate", NULL});
    start_lever(&second, fx->url, (const char *[]){"migrate", NULL});
    assert_int_equal(finish_lever(&first), 0);
    assert_int_equal(finish_lever(&second), 0);
    assert_string_equal(first.err, "");
    assert_string_equal(second.err, "");
    /* Every migration was applied by exactly one of the two. */
    assert_int_equal(count_lines(first.out) + count_lines(second.out), (int)lv_migrations_count);
    for (size_t i = 0; i < lv_migrations_count; i++) {
        char line[128];
        snprintf(line, sizeof line, "applied %04d_%s\n", lv_migrations[i].version,
                 lv_migrations[i].name);
        assert_int_equal(count_occurrences(first.out, line) + count_occurrences(second.out, line),
                         1);
    }
    char value[64], expected[64];
    snprintf(expected, sizeof expected, "%zu", lv_migrations_count);
    assert_string_equal(
        db_fixture_value(fx->conn, "SELECT count(*) FROM schema_migrations", value, sizeof value),
        expected);
}

/* ---- lever bars --------------------------------------------------------------------------- */

/* A scratch directory of CSV files, removed by its test. */
struct scratch {
    char dir[64];
};

static void scratch_create(struct scratch *s)
{
    snprintf(s->dir, sizeof s->dir, "/tmp/lever-bars.XXXXXX");
    assert_non_null(mkdtemp(s->dir));
}

static const char *scratch_write(struct scratch *s, const char *name, const char *text, char *path,
                                 size_t path_size)
{
    snprintf(path, path_size, "%s/%s", s->dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void scratch_remove(struct scratch *s)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    assert_int_equal(system(cmd), 0);
}

static const char SPY_CSV[] = "date,open,high,low,close,volume\n"
                              "2020-01-02,100.5,101.25,99.75,101,1000\n"
                              "2020-01-03,101,102,100,0.1,2000\n"
                              "2020-01-06,102,103,101,102.5,3000\n";

/* A file with a symbol column: two symbols interleaved, in another column order. */
static const char MULTI_CSV[] = "symbol,date,close,open,high,low,volume\n"
                                "tlt,2020-01-02,140,139,141,138,50\n"
                                "GLD,2020-01-02,150,149,151,148,60\n"
                                "TLT,2020-01-03,141,140,142,139,55\n";

static const char BARS_DUMP_SQL[] =
    "SELECT string_agg(symbol || ' ' || day || ' ' || open || ' ' || high || ' ' || low || ' ' "
    "|| close || ' ' || volume || ' ' || source, E'\\n' ORDER BY symbol, day) FROM bars";

static void test_bars_import_and_list(void **state)
{
    static struct run run;
    struct db_fixture *fx = *state;
    struct scratch s;
    scratch_create(&s);
    char path[128];
    scratch_write(&s, "SPY.csv", SPY_CSV, path, sizeof path);
    scratch_write(&s, "multi.csv", MULTI_CSV, path, sizeof path);
    scratch_write(&s, "notes.txt", "not a csv file", path, sizeof path);

    assert_int_equal(run_lever(&run, fx->url, (const char *[]){"bars", "import", s.dir, NULL}), 0);
    assert_string_equal(run.err, "");
    assert_non_null(strstr(run.out, "imported 6 bars of 3 symbols"));

    char dump[2048];
    assert_string_equal(db_fixture_value(fx->conn, BARS_DUMP_SQL, dump, sizeof dump),
                        "GLD 2020-01-02 149 151 148 150 60 csv\n"
                        "SPY 2020-01-02 100.5 101.25 99.75 101 1000 csv\n"
                        "SPY 2020-01-03 101 102 100 0.1 2000 csv\n"
                        "SPY 2020-01-06 102 103 101 102.5 3000 csv\n"
                        "TLT 2020-01-02 139 141 138 140 50 csv\n"
                        "TLT 2020-01-03 140 142 139 141 55 csv");

    assert_int_equal(run_lever(&run, fx->url, (const char *[]){"bars", "list", NULL}), 0);
    assert_string_equal(run.out, "symbol          first      last           bars  source\n"
                                 "GLD             2020-01-02 2020-01-02        1  csv\n"
                                 "SPY             2020-01-02 2020-01-06        3  csv\n"
                                 "TLT             2020-01-02 2020-01-03        2  csv\n");

    /* Re-import: the file's range 2020-01-03..2020-01-07 is replaced (01-06 disappears),
     * 01-02 outside it is kept; the new rows are marked synthetic. */
    char spy_path[128];
    scratch_write(&s, "SPY.csv",
                  "date,open,high,low,close,volume\n"
                  "2020-01-03,1,1,1,1,1\n"
                  "2020-01-07,2,2,2,2,2\n",
                  spy_path, sizeof spy_path);
    assert_int_equal(
        run_lever(&run, fx->url,
                  (const char *[]){"bars", "import", "--source", "synthetic", spy_path, NULL}),
        0);
    char value[256];
    assert_string_equal(db_fixture_value(fx->conn,
                                         "SELECT string_agg(day || ':' || close || ':' || source, "
                                         "' ' ORDER BY day) FROM bars WHERE symbol = 'SPY'",
                                         value, sizeof value),
                        "2020-01-02:101:csv 2020-01-03:1:synthetic 2020-01-07:2:synthetic");
    assert_int_equal(run_lever(&run, fx->url, (const char *[]){"bars", "list", NULL}), 0);
    assert_non_null(
        strstr(run.out, "SPY             2020-01-02 2020-01-07        3  csv,synthetic\n"));

    scratch_remove(&s);
}

static void test_bars_import_bad_row_imports_nothing(void **state)
{
    static struct run run;
    struct db_fixture *fx = *state;
    struct scratch s;
    scratch_create(&s);
    char good[128], bad[128], dup[128];
    scratch_write(&s, "SPY.csv", SPY_CSV, good, sizeof good);
    scratch_write(&s, "QQQ.csv",
                  "date,open,high,low,close,volume\n"
                  "2020-01-02,1,2,0.5,1.5,100\n"
                  "2020-01-03,1,2,0.5,x,100\n",
                  bad, sizeof bad);

    assert_int_equal(run_lever(&run, fx->url, (const char *[]){"bars", "import", good, bad, NULL}),
                     1);
    char expected[256];
    snprintf(expected, sizeof expected, "%s:3: field close", bad);
    assert_non_null(strstr(run.err, expected));
    assert_non_null(strstr(run.err, "nothing imported"));
    char value[64];
    assert_string_equal(
        db_fixture_value(fx->conn, "SELECT count(*) FROM bars", value, sizeof value), "0");

    /* The same symbol in two files is refused rather than silently merged. */
    scratch_write(&s, "spy-copy.csv",
                  "symbol,date,open,high,low,close,volume\nSPY,2021-01-04,1,1,1,1,1\n", dup,
                  sizeof dup);
    assert_int_equal(run_lever(&run, fx->url, (const char *[]){"bars", "import", good, dup, NULL}),
                     1);
    assert_non_null(strstr(run.err, "symbol SPY is in both"));
    assert_string_equal(
        db_fixture_value(fx->conn, "SELECT count(*) FROM bars", value, sizeof value), "0");

    assert_int_equal(
        run_lever(&run, fx->url, (const char *[]){"bars", "import", "/nonexistent/x.csv", NULL}),
        1);
    assert_non_null(strstr(run.err, "/nonexistent/x.csv"));
    assert_int_equal(run_lever(&run, fx->url, (const char *[]){"bars", "import", NULL}), 2);
    assert_int_equal(
        run_lever(&run, fx->url,
                  (const char *[]){"bars", "import", "--source", "alpaca", good, NULL}),
        2);
    assert_int_equal(run_lever(&run, NULL, (const char *[]){"bars", "list", NULL}), 2);
    assert_non_null(strstr(run.err, "DATABASE_URL"));

    scratch_remove(&s);
}

/* The real SPY file of the shared test data, when it is there. */
static void test_bars_import_real_file(void **state)
{
    static struct run run;
    const char *shared = getenv("LEVER_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/data/etf/SPY.csv", shared != NULL ? shared : "/work/shared");
    if (access(path, R_OK) != 0) {
        print_message("%s not readable: skipped\n", path);
        skip();
    }
    struct db_fixture *fx = *state;
    assert_int_equal(run_lever(&run, fx->url, (const char *[]){"bars", "import", path, NULL}), 0);
    assert_int_equal(run_lever(&run, fx->url, (const char *[]){"bars", "list", NULL}), 0);
    assert_non_null(strstr(run.out, "SPY             1993-01-29 2025-09-26     8222  csv\n"));
    /* Values travel exactly (%.17g through COPY): the last close of the file. */
    char value[64];
    assert_string_equal(db_fixture_value(fx->conn,
                                         "SELECT close FROM bars WHERE symbol = 'SPY' AND day = "
                                         "'2025-09-26'",
                                         value, sizeof value),
                        "661.820007");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate_usage_and_configuration_errors),
        cmocka_unit_test_setup_teardown(test_migrate_applies_then_is_quiet, db_fixture_setup_fresh,
                                        db_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_two_concurrent_migrations, db_fixture_setup_fresh,
                                        db_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bars_import_and_list, db_fixture_setup_migrated,
                                        db_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bars_import_bad_row_imports_nothing,
                                        db_fixture_setup_migrated, db_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bars_import_real_file, db_fixture_setup_migrated,
                                        db_fixture_teardown),
    };
    return cmocka_run_group_tests_name("cli_db", tests, NULL, NULL);
}
