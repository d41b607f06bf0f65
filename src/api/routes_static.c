/* routes_static.c — the web UI's files: GET / answers index.html and GET /static/{file} one
 * file of LEVER_STATIC_DIR, with a Content-Security-Policy that lets only Lever's own code run.
 *
 * The static directory is flat and read as it is at each request (editing web/ needs no
 * restart). A relative LEVER_STATIC_DIR is resolved against the working directory of
 * `lever serve` (`make run` starts it from the repository root, so the default "web" is the
 * repository's web/). Only plain file names are served: letters, digits, '.', '_' and '-',
 * not starting with '.', with one of the extensions below, naming a regular file that is not
 * a symbolic link. Everything else is 404, so neither "..", "/", hidden files nor anything
 * outside the directory can be reached. These routes are public: the page itself signs in. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/app.h"

/* The UI's own scripts, styles, images and fetches only; no inline script or style
 * attribute, no plugin, no framing. data: images let CSS embed small icons. */
#define UI_CONTENT_SECURITY_POLICY                                                                 \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "                  \
    "form-action 'self'; frame-ancestors 'none'"

/* The page is revalidated at every load, so a new release shows at once; the assets it
 * names may be reused for a few minutes. */
#define PAGE_CACHE_CONTROL  "no-cache"
#define ASSET_CACHE_CONTROL "public, max-age=300"

#define FILE_NAME_MAX 128

static const struct {
    const char *extension;
    const char *media_type;
} media_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
};

/* The media type of a file name by its extension; NULL for a kind of file the UI does not
 * ship (it is then not served at all). */
static const char *media_type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof media_types / sizeof media_types[0]; i++)
        if (strcmp(dot, media_types[i].extension) == 0)
            return media_types[i].media_type;
    return NULL;
}

/* True for a plain, visible file name: no separator, no "..", no leading dot, no control
 * character (the name arrives percent-decoded, so "%2F" is already a '/'). */
static bool plain_file_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > FILE_NAME_MAX || name[0] == '.')
        return false;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len;
}

static void not_found(struct lv_req *req)
{
    lv_resp_error(req, 404, "not_found", "no such file", NULL);
}

/* Answers with the file `name` of the static directory, or 404. */
static void send_static_file(struct lv_req *req, const struct lv_app *app, const char *name,
                             const char *cache_control)
{
    const char *media_type = media_type_of(name);
    if (media_type == NULL || !plain_file_name(name)) {
        not_found(req);
        return;
    }
    char path[sizeof app->cfg->static_dir + FILE_NAME_MAX + 2];
    snprintf(path, sizeof path, "%s/%s", app->cfg->static_dir, name);
    /* O_NOFOLLOW: a symbolic link planted in the directory must not lead out of it. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat info;
    if (fd < 0 || fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        if (fd >= 0)
            close(fd);
        not_found(req);
        return;
    }
    lv_resp_header(req, "Content-Security-Policy", UI_CONTENT_SECURITY_POLICY);
    lv_resp_header(req, "Cache-Control", cache_control);
    lv_resp_file(req, 200, media_type, fd, (uint64_t)info.st_size); /* owns fd now */
}

static void serve_index(struct lv_req *req, void *app)
{
    send_static_file(req, app, "index.html", PAGE_CACHE_CONTROL);
}

static void serve_asset(struct lv_req *req, void *app)
{
    send_static_file(req, app, lv_req_param(req, "file"), ASSET_CACHE_CONTROL);
}

int lv_routes_static(struct lv_router *router, struct lv_error *err)
{
    if (lv_router_add(router, "GET", "/", serve_index, LV_ROUTE_PUBLIC, err) != 0)
        return -1;
    return lv_router_add(router, "GET", "/static/{file}", serve_asset, LV_ROUTE_PUBLIC, err);
}
