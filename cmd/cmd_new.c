/* migrate new NAME: the next numbered pair. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "migrator/buf.h"
#include "migrator/json.h"
#include "migrator/source.h"

static int create(const char *path, const char *text, struct mg_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	size_t len = strlen(text);

	if (fd < 0)
		return mg_error_set(err, MG_ERR, "cannot create '%s': %s", path,
		                    strerror(errno));
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return mg_error_set(err, MG_ERR, "cannot write '%s'", path);
	}
	close(fd);
	return 0;
}

/* "add orders" is add_orders; what a file name cannot hold is refused.
 * 0, an exit code after reporting, or -1 for no name at all. */
static int name_of(char *out, size_t size, const char *arg,
                   const struct opts *o)
{
	size_t n = 0;
	const char *p;

	for (p = arg; *p == ' ' || *p == '\t'; p++)
		;
	for (; *p && n + 1 < size; p++) {
		if (*p == ' ' || *p == '\t') {
			if (n > 0 && out[n - 1] != '_')
				out[n++] = '_';
			continue;
		}
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
		            "XYZ0123456789_-.",
		            *p))
			return usage_error(o, "a migration name holds letters, "
			                      "digits, '_', '-', '.' and "
			                      "spaces only");
		out[n++] = *p;
	}
	while (n > 0 && out[n - 1] == '_' && p[-1] != '_')
		n--;
	out[n] = '\0';
	if (*p != '\0')
		return usage_error(o, "a migration name of at most %zu "
		                      "characters, please",
		                   size - 1);
	return n == 0 ? -1 : 0;
}

/* YYYYMMDDHHMMSS in UTC, as dbmate and golang-migrate -format write it */
static int64_t utc_stamp(void)
{
	time_t t = time(NULL);
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y%m%d%H%M%S", &tm);
	return strtoll(buf, NULL, 10);
}

int cmd_new(const struct opts *o)
{
	struct mg_source *src = NULL;
	struct mg_buf up = MG_BUF_INIT, down = MG_BUF_INIT;
	struct mg_error err = { 0 };
	char name[200];
	int64_t version = 1, ignored;
	const char *p;
	size_t width = 4, n;
	bool is_up;
	int code;

	if (o->nargs != 1 || (code = name_of(name, sizeof(name), o->args[0],
	                                     o)) < 0)
		return usage_error(o, "new takes one NAME");
	if (code > 0)
		return code;
	if (mkdir(o->dir, 0755) < 0 && errno != EEXIST) {
		mg_error_set(&err, MG_ERR, "cannot create '%s': %s", o->dir,
		             strerror(errno));
		return report(o, &err);
	}
	if ((code = open_source(&src, o)) != 0)
		return code;
	if (src->n > 0) {
		const struct mg_migration *last = &src->v[src->n - 1];
		const char *base = strrchr(last->up.path, '/');

		version = last->version + 1;
		base = base ? base + 1 : last->up.path;
		/* keep the project's zero padding */
		if (mg_source_parse_name(base, &ignored, &p, &n, &is_up) == 0)
			width = (size_t)(p - base - 1);
	}
	if (o->timestamp) { /* branches made in parallel do not collide */
		int64_t now = utc_stamp();

		width = 14;
		if (now > version - 1)
			version = now;
	}
	mg_buf_addf(&up, "%s/%0*lld_%s.up.sql", o->dir, (int)width,
	            (long long)version, name);
	mg_buf_addf(&down, "%s/%0*lld_%s.down.sql", o->dir, (int)width,
	            (long long)version, name);
	if (mg_buf_check(&up, &err) < 0 || mg_buf_check(&down, &err) < 0 ||
	    create(up.ptr, "-- Write the change here.\n", &err) < 0 ||
	    create(down.ptr, "-- Write here what undoes the up file.\n", &err) <
	            0) {
		code = report(o, &err);
		goto cleanup;
	}
	if (o->json) {
		struct mg_buf b = MG_BUF_INIT;
		struct mg_json w;

		mg_json_init(&w, &b);
		mg_json_object_begin(&w, NULL);
		mg_json_string(&w, "event", "created");
		mg_json_string(&w, "up", up.ptr);
		mg_json_string(&w, "down", down.ptr);
		mg_json_end(&w);
		print_json_line(&b);
	} else {
		printf("%s\n%s\n", up.ptr, down.ptr);
	}
	code = EXIT_OK;
cleanup:
	mg_buf_dispose(&up);
	mg_buf_dispose(&down);
	mg_source_free(src);
	return code;
}
