/* lever_proc.h — integration-test helpers that run the real `lever` binary: start and stop
 * `lever serve` on a free loopback port, run CLI commands, create users with tokens.
 * They read LEVER_BIN and DATABASE_URL from the environment (scripts/run-tests sets both). */
#ifndef LEVER_TESTS_LEVER_PROC_H
#define LEVER_TESTS_LEVER_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct lever_proc {
    pid_t pid;
    int port;
    char base_url[64];  /* "http://127.0.0.1:PORT" */
    char log_path[256]; /* the server's stderr */
};

/* Starts `lever serve` with LEVER_LISTEN=127.0.0.1:0 plus `extra_env` ("NAME=value" strings,
 * NULL-terminated, may be NULL) and waits until it listens (up to 30 s). Returns 0 or -1
 * (the log is printed to stderr then). */
int lever_proc_start(struct lever_proc *proc, const char *const *extra_env);

/* Sends SIGTERM and waits; returns the exit status (or -1 when it had to be killed). */
int lever_proc_stop(struct lever_proc *proc);

/* A suite's teardown: stops the server and returns 0 when it exited 0 (a crash, or under ASan
 * a leak, makes it exit non-zero), else prints the status and returns -1. */
int lever_proc_stop_clean(struct lever_proc *proc);

/* Sends SIGKILL and reaps the process. */
void lever_proc_kill(struct lever_proc *proc);

/* Runs `lever ARGS…` (argv NULL-terminated, without "lever") with optional extra
 * environment, capturing stdout and stderr (each truncated to its buffer, NUL-terminated;
 * either buffer may be NULL). Returns the exit code, or -1 if it could not run. */
int lever_run(const char *const *args, const char *const *extra_env, char *out, size_t out_cap,
              char *err, size_t err_cap);

/* Creates a user named `name` with `lever user create` and copies its token. Returns the
 * user id, or -1. */
int lever_create_user(const char *name, char *token, size_t token_cap);

/* The value of an environment variable the suite cannot run without (aborts the test
 * process with a clear message when unset). */
const char *lever_test_env(const char *name);

#endif
