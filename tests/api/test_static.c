/* test_static.c — the web UI's static files served by a real `lever serve`: the page with its
 * media type and Content-Security-Policy, an asset, and every way out of the directory (404). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_client.h"
#include "lever_proc.h"

/* A scratch tree: ROOT/web is LEVER_STATIC_DIR, ROOT/meson.build is what a traversal would
 * leak. */
struct fixture {
    struct lever_proc server;
    char root[64];
    char web[96];
};

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

static int setup(void **state)
{
    static struct fixture fx;
    snprintf(fx.root, sizeof fx.root, "/tmp/lever-static-XXXXXX");
    if (mkdtemp(fx.root) == NULL)
        return -1;
    snprintf(fx.web, sizeof fx.web, "%s/web", fx.root);
    char subdir[128];
    snprintf(subdir, sizeof subdir, "%s/sub.js", fx.web);
    if (mkdir(fx.web, 0755) != 0 || mkdir(subdir, 0755) != 0)
        return -1;
    write_file(fx.root, "meson.build", "project('secret')\n");
    write_file(fx.web, "index.html", "<!doctype html><title>Lever</title>\n");
    write_file(fx.web, "app.js", "export const answer = 42;\n");
    write_file(fx.web, "style.css", "body { margin: 0; }\n");
    write_file(fx.web, ".hidden", "secret\n");
    write_file(fx.web, "notes.txt", "not a UI file\n");
    char link_path[256], target[256];
    snprintf(link_path, sizeof link_path, "%s/link.js", fx.web);
    snprintf(target, sizeof target, "%s/meson.build", fx.root);
    if (symlink(target, link_path) != 0)
        return -1;

    char env_dir[160];
    snprintf(env_dir, sizeof env_dir, "LEVER_STATIC_DIR=%s", fx.web);
    const char *env[] = {env_dir, NULL};
    if (lever_proc_start(&fx.server, env) != 0)
        return -1;
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    if (fx == NULL)
        return 0;
    lever_proc_stop(&fx->server);
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", fx->root);
    return system(command) == 0 ? 0 : -1;
}

/* GETs `path` without credentials into `res` (caller frees). */
static void get(const struct fixture *fx, const char *path, struct http_client_response *res)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", fx->server.base_url, path);
    struct http_client_request request = {.url = url};
    assert_int_equal(http_client_send(&request, res, NULL, 0), 0);
}

static void index_is_html_with_a_strict_policy(void **state)
{
    struct http_client_response res;
    get(*state, "/", &res);
    assert_int_equal(res.status, 200);
    assert_string_equal(http_client_header(&res, "Content-Type"), "text/html; charset=utf-8");
    assert_non_null(strstr(res.body, "<title>Lever</title>"));
    const char *csp = http_client_header(&res, "Content-Security-Policy");
    assert_non_null(csp);
    assert_non_null(strstr(csp, "script-src 'self'"));
    assert_non_null(strstr(csp, "connect-src 'self'"));
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));
    assert_null(strstr(csp, "unsafe-inline"));
    assert_string_equal(http_client_header(&res, "Cache-Control"), "no-cache");
    http_client_response_free(&res);
}

static void assets_carry_their_media_type_and_short_caching(void **state)
{
    struct http_client_response res;
    get(*state, "/static/app.js", &res);
    assert_int_equal(res.status, 200);
    assert_string_equal(http_client_header(&res, "Content-Type"), "text/javascript; charset=utf-8");
    assert_string_equal(res.body, "export const answer = 42;\n");
    assert_string_equal(http_client_header(&res, "Cache-Control"), "public, max-age=300");
    assert_non_null(strstr(http_client_header(&res, "Content-Security-Policy"), "'self'"));
    http_client_response_free(&res);

    get(*state, "/static/style.css", &res);
    assert_int_equal(res.status, 200);
    assert_string_equal(http_client_header(&res, "Content-Type"), "text/css; charset=utf-8");
    http_client_response_free(&res);
}

static void no_authentication_is_needed(void **state)
{
    /* The API next door still refuses anonymous callers: only the UI's files are public. */
    struct http_client_response res;
    get(*state, "/api/v1/me", &res);
    assert_int_equal(res.status, 401);
    http_client_response_free(&res);
}

static void nothing_outside_plain_ui_files_is_served(void **state)
{
    const char *refused[] = {
        "/static/..%2Fmeson.build",     /* traversal, slash percent-encoded */
        "/static/%2E%2E%2Fmeson.build", /* the same, dots encoded too */
        "/static/%2E%2E",               /* the parent directory (curl would resolve "..") */
        "/static/.hidden",              /* hidden file */
        "/static/nope.js",              /* missing */
        "/static/notes.txt",            /* not a kind of file the UI ships */
        "/static/sub.js",               /* a directory */
        "/static/link.js",              /* a symbolic link out of the directory */
        "/static/app.js%00.css",        /* NUL byte */
        "/static/",                     /* no name */
        "/static/web/index.html",       /* subdirectories do not exist for the router */
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        struct http_client_response res;
        get(*state, refused[i], &res);
        if (res.status != 404 && res.status != 400)
            fail_msg("%s answered %ld: %s", refused[i], res.status, res.body);
        assert_null(strstr(res.body, "secret"));
        http_client_response_free(&res);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(index_is_html_with_a_strict_policy),
        cmocka_unit_test(assets_carry_their_media_type_and_short_caching),
        cmocka_unit_test(no_authentication_is_needed),
        cmocka_unit_test(nothing_outside_plain_ui_files_is_served),
    };
    return cmocka_run_group_tests_name("static", tests, setup, teardown);
}
