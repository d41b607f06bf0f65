/* lever_proc.c — running the real lever binary from integration tests. */
#include "lever_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *lever_test_env(const char *name)
{
    const char *value = getenv(name);
    if (value == NULL || value[0] == '\0') {
        fprintf(stderr, "this suite needs %s (run it through make test)\n", name);
        exit(1);
    }
    return value;
}

static void apply_env(const char *const *extra_env)
{
    for (; extra_env != NULL && *extra_env != NULL; extra_env++)
        putenv((char *)*extra_env);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reads the log until the server announces its port. */
static int wait_for_port(struct lever_proc *proc)
{
    for (int attempt = 0; attempt < 3000; attempt++) {
        FILE *log = fopen(proc->log_path, "r");
        char line[512];
        while (log != NULL && fgets(line, sizeof line, log) != NULL) {
            const char *at = strstr(line, "listening on http://");
            const char *colon = at != NULL ? strrchr(at, ':') : NULL;
            if (colon != NULL) {
                proc->port = atoi(colon + 1);
                fclose(log);
                snprintf(proc->base_url, sizeof proc->base_url, "http://127.0.0.1:%d", proc->port);
                return 0;
            }
        }
        if (log != NULL)
            fclose(log);
        int status;
        if (waitpid(proc->pid, &status, WNOHANG) == proc->pid) {
            proc->pid = 0;
            return -1;
        }
        sleep_ms(10);
    }
    return -1;
}

static void print_log(const char *path)
{
    FILE *log = fopen(path, "r");
    char line[512];
    while (log != NULL && fgets(line, sizeof line, log) != NULL)
        fprintf(stderr, "  server: %s", line);
    if (log != NULL)
        fclose(log);
}

int lever_proc_start(struct lever_proc *proc, const char *const *extra_env)
{
    const char *bin = lever_test_env("LEVER_BIN");
    lever_test_env("DATABASE_URL");
    memset(proc, 0, sizeof *proc);
    snprintf(proc->log_path, sizeof proc->log_path, "/tmp/lever-serve-%d-%ld.log", (int)getpid(),
             (long)time(NULL) ^ (long)rand());
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(proc->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            dup2(fd, STDOUT_FILENO);
            close(fd);
        }
        setenv("LEVER_LISTEN", "127.0.0.1:0", 1);
        apply_env(extra_env);
        execl(bin, "lever", "serve", (char *)NULL);
        _exit(127);
    }
    proc->pid = pid;
    if (wait_for_port(proc) != 0) {
        fprintf(stderr, "lever serve did not start:\n");
        print_log(proc->log_path);
        lever_proc_kill(proc);
        return -1;
    }
    return 0;
}

int lever_proc_stop(struct lever_proc *proc)
{
    if (proc->pid <= 0)
        return -1;
    kill(proc->pid, SIGTERM);
    for (int attempt = 0; attempt < 3000; attempt++) {
        int status;
        if (waitpid(proc->pid, &status, WNOHANG) == proc->pid) {
            proc->pid = 0;
            unlink(proc->log_path);
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        sleep_ms(10);
    }
    fprintf(stderr, "lever serve ignored SIGTERM for 30 s:\n");
    print_log(proc->log_path);
    lever_proc_kill(proc);
    return -1;
}

int lever_proc_stop_clean(struct lever_proc *proc)
{
    int status = lever_proc_stop(proc);
    if (status != 0)
        fprintf(stderr, "lever serve exited with status %d\n", status);
    return status == 0 ? 0 : -1;
}

void lever_proc_kill(struct lever_proc *proc)
{
    if (proc->pid > 0) {
        kill(proc->pid, SIGKILL);
        waitpid(proc->pid, NULL, 0);
        proc->pid = 0;
    }
}

/* Reads all of fd into buf (truncating), then closes it. */
static void slurp(int fd, char *buf, size_t cap)
{
    size_t used = 0;
    char scratch[4096];
    for (;;) {
        ssize_t n = read(fd, scratch, sizeof scratch);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (buf != NULL && used + 1 < cap) {
            size_t take = (size_t)n < cap - 1 - used ? (size_t)n : cap - 1 - used;
            memcpy(buf + used, scratch, take);
            used += take;
        }
    }
    if (buf != NULL && cap > 0)
        buf[used] = '\0';
    close(fd);
}

int lever_run(const char *const *args, const char *const *extra_env, char *out, size_t out_cap,
              char *err, size_t err_cap)
{
    const char *bin = lever_test_env("LEVER_BIN");
    char err_path[] = "/tmp/lever-run-err-XXXXXX";
    int err_fd = mkstemp(err_path);
    int out_pipe[2];
    if (err_fd < 0 || pipe(out_pipe) != 0)
        return -1;
    unlink(err_path);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(out_pipe[1], STDOUT_FILENO);
        dup2(err_fd, STDERR_FILENO);
        close(out_pipe[0]);
        close(out_pipe[1]);
        apply_env(extra_env);
        const char *argv[64] = {"lever"};
        int argc = 1;
        for (; args[argc - 1] != NULL && argc < 63; argc++)
            argv[argc] = args[argc - 1];
        argv[argc] = NULL;
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(out_pipe[1]);
    slurp(out_pipe[0], out, out_cap);
    int status;
    waitpid(pid, &status, 0);
    lseek(err_fd, 0, SEEK_SET);
    slurp(err_fd, err, err_cap);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int lever_create_user(const char *name, char *token, size_t token_cap)
{
    const char *args[] = {"user", "create", "--name", name, NULL};
    char out[1024], err[1024];
    if (lever_run(args, NULL, out, sizeof out, err, sizeof err) != 0) {
        fprintf(stderr, "lever user create failed: %s\n", err);
        return -1;
    }
    int user_id = -1;
    const char *token_line = strstr(out, "token: ");
    if (sscanf(out, "user %d", &user_id) != 1 || token_line == NULL)
        return -1;
    snprintf(token, token_cap, "%.*s", (int)strcspn(token_line + 7, "\n"), token_line + 7);
    return user_id;
}
