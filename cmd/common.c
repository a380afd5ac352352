#include <errno.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/safety.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/json.h"
#include "migrator/source.h"

int open_source(struct mg_source **out, const struct opts *o)
{
	struct mg_problems problems = { 0 };
	struct mg_error err = { 0 };
	size_t i;
	int rc;

	/* a fleet's child: the parent read and checked the files once */
	if (o->preloaded != NULL && *o->preloaded != NULL) {
		*out = *o->preloaded;
		*o->preloaded = NULL;
		return 0;
	}
	rc = mg_source_load(out, o->dir, &problems, &err);
	for (i = 0; i < problems.n; i++)
		fprintf(stderr, "%s\n", problems.v[i]);
	mg_problems_dispose(&problems);
	if (rc == MG_ENOTFOUND) {
		err.code = MG_EINVALID;
		snprintf(err.hint, sizeof(err.hint),
		         "pass -m DIR or set "
		         "MIGRATE_DIR; 'migrate new NAME' creates it");
	}
	return rc < 0 ? report(o, &err) : 0;
}

/* A server's notice or warning (RAISE NOTICE, SHOW WARNINGS) may quote
 * anything: scrubbed like an error. */
static void print_notice(void *ctx, const char *msg)
{
	const struct opts *o = ctx;
	char text[2048];

	snprintf(text, sizeof(text), "%s", msg);
	scrub_secrets(ctx, text, sizeof(text));
	/* a warning: on stderr with --json too (not say(), which --json
	 * silences); --quiet still does */
	if (o == NULL || !o->quiet)
		fprintf(stderr, "server: %s\n", text);
}

int open_db(struct mg_conn **out, const struct opts *o, unsigned flags)
{
	const struct mg_driver *drv;
	struct mg_error err = { 0 };

	*out = NULL;
	if ((drv = mg_driver_for_url(o->database, &err)) == NULL ||
	    drv->connect(out, o->database, flags, &err) < 0)
		return report(o, &err);
	(*out)->on_notice = print_notice;
	(*out)->notice_ctx = (void *)o;
	return 0;
}

void close_db(struct mg_conn *conn)
{
	if (conn != NULL)
		conn->drv->close(conn);
}

const char *os_user(void)
{
	struct passwd *pw = getpwuid(geteuid());
	const char *u = getenv("USER");

	return pw != NULL ? pw->pw_name : u;
}

const char *host_name(void)
{
	static char host[256];

	if (gethostname(host, sizeof(host) - 1) < 0)
		return NULL;
	return host;
}

int read_hex_file(unsigned char *out, size_t len, const char *path,
                  struct mg_error *err)
{
	char text[512];
	size_t n, got = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return mg_error_set(err, MG_EINVALID,
		                    "cannot read key file "
		                    "'%s': %s",
		                    path, strerror(errno));
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	if (sodium_hex2bin(out, len, text, n, " \t\r\n", &got, NULL) != 0 ||
	    got != len) {
		sodium_memzero(text, sizeof(text));
		return mg_error_set(err, MG_EINVALID,
		                    "'%s' is not a key "
		                    "written by 'migrate keygen'",
		                    path);
	}
	sodium_memzero(text, sizeof(text));
	return 0;
}

int read_text_file(struct mg_buf *out, const char *path, size_t max,
                   struct mg_error *err)
{
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		return mg_error_set(err, MG_EINVALID, "cannot read '%s': %s",
		                    path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && out->len <= max)
		mg_buf_addn(out, chunk, n);
	fclose(f);
	if (out->len > max)
		return mg_error_set(err, MG_EINVALID,
		                    "'%s' is larger than %zu bytes", path, max);
	return mg_buf_check(out, err);
}

int load_signing_key(unsigned char out[64], bool *have, const struct opts *o)
{
	const char *path = o->signing_key;
	struct mg_error err = { 0 };
	struct stat st;

	*have = false;
	if (path == NULL || *path == '\0')
		return 0;
	/* as ssh does: a secret others can read is no secret */
	if (stat(path, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO))) {
		mg_error_set(&err, MG_EINVALID,
		             "signing key '%s' is open to others (mode %04o)",
		             path, (unsigned)(st.st_mode & 07777));
		mg_error_hint(&err, "chmod 600 '%s'", path);
		return report(o, &err);
	}
	if (read_hex_file(out, crypto_sign_SECRETKEYBYTES, path, &err) < 0)
		return report(o, &err);
	*have = true;
	return 0;
}

int session_open(struct session *s, const struct opts *o)
{
	bool have_key;
	int code;

	memset(s, 0, sizeof(*s));
	s->o = o;
	if ((code = load_signing_key(s->key, &have_key, o)) != 0 ||
	    (code = open_source(&s->src, o)) != 0 ||
	    (code = open_db(&s->conn, o,
	                    o->dry_run ? MG_CONNECT_READ_ONLY : 0)) != 0)
		return code;
	s->r.conn = s->conn;
	s->r.src = s->src;
	s->r.table = o->table;
	s->r.os_user = os_user();
	s->r.host = host_name();
	s->r.sign_key = have_key ? s->key : NULL;
	s->r.lock_timeout_s = (int)o->lock_timeout;
	s->r.reason = o->reason;
	/* production safety: config_load checked the values */
	s->bounds.lock_ms = MG_DDL_LOCK_TIMEOUT_DEFAULT_MS;
	s->bounds.stmt_ms = MG_BOUND_UNSET;
	if (o->ddl_lock_timeout != NULL)
		mg_bounds_parse(&s->bounds.lock_ms, o->ddl_lock_timeout, true);
	if (o->statement_timeout != NULL)
		mg_bounds_parse(&s->bounds.stmt_ms, o->statement_timeout, true);
	s->r.bounds = &s->bounds;
	s->r.retries = o->retries >= 0 ? (int)o->retries : 3;
	/* a write command refuses a standby before it plans anything */
	if (!o->dry_run && (code = refuse_read_only(o, s->conn)) != 0)
		return code;
	return 0;
}

void session_close(struct session *s)
{
	sodium_memzero(s->key, sizeof(s->key));
	if (s->o != NULL && s->o->before_close != NULL && s->conn != NULL)
		s->o->before_close(s->o->before_close_ctx, s->conn);
	close_db(s->conn);
	mg_source_free(s->src);
	memset(s, 0, sizeof(*s));
}
