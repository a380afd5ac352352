/* migrate baseline, repair, keygen: the operator's tools. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "migrator/adopt.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/json.h"
#include "migrator/runner.h"
#include "migrator/source.h"

static int parse_version(int64_t *out, const struct opts *o)
{
	int code;

	if ((code = version_arg(out, o)) != 0)
		return code;
	if (o->reason == NULL || *o->reason == '\0')
		return usage_error(o,
		                   "%s needs --reason TEXT: the ledger "
		                   "keeps why history was marked by hand",
		                   o->command);
	return 0;
}

/*
 * baseline --from TOOL: V is the last version that tool applied, read
 * from its history table; the reason says where it came from.
 */
static int adopt(int64_t *version, struct mg_buf *reason,
                 const struct opts *o, struct mg_conn *conn)
{
	const struct mg_adopt_tool *tool = mg_adopt_find(o->from);
	struct mg_error err = { 0 };
	char what[300];

	if (tool == NULL)
		return usage_error(o, "--from takes %s, not '%s'",
		                   mg_adopt_names(), o->from);
	if (mg_adopt_read(version, what, sizeof(what), conn, tool,
	                  o->from_table, &err) < 0)
		return report(o, &err);
	mg_buf_addf(reason, "baseline --from %s", what);
	if (o->reason != NULL && *o->reason != '\0')
		mg_buf_addf(reason, ": %s", o->reason);
	if (mg_buf_check(reason, &err) < 0)
		return report(o, &err);
	say(o, "%s\n", what);
	return 0;
}

static int mark(const struct opts *o, bool repair)
{
	struct session s;
	struct mg_error err = { 0 };
	struct mg_buf reason = MG_BUF_INIT;
	int64_t version = 0;
	int code, rc;

	if (o->from == NULL && (code = parse_version(&version, o)) != 0)
		return code;
	if (o->from != NULL && o->nargs > 0)
		return usage_error(o, "baseline --from reads the version: give "
		                      "none");
	if (o->from == NULL && o->from_table != NULL)
		return usage_error(o, "--table goes with --from");
	if (!repair && o->applied)
		return usage_error(o, "--applied goes with repair");
	if ((code = session_open(&s, o)) != 0)
		goto cleanup;
	if (o->from != NULL &&
	    (code = adopt(&version, &reason, o, s.conn)) != 0)
		goto cleanup;
	if (repair)
		rc = mg_run_repair(&s.r, version, o->reason, o->applied, &err);
	else
		rc = mg_run_baseline(&s.r, version,
		                     o->from ? reason.ptr : o->reason, &err);
	if (rc < 0) {
		code = report(o, &err);
		goto cleanup;
	}
	if (repair)
		say(o, "version %lld repaired: now %s\n",
		        (long long)version,
		        o->applied ? "applied" : "not applied");
	else
		say(o, "%zu version%s recorded as applied\n",
		        s.r.applied, s.r.applied == 1 ? "" : "s");
	if (o->json) {
		struct mg_buf b = MG_BUF_INIT;
		struct mg_json w;

		summary_begin(&w, &b, o, "ok", EXIT_OK);
		mg_json_int(&w, "recorded", (int64_t)s.r.applied);
		mg_json_end(&w);
		print_json_line(&b);
	}
	code = EXIT_OK;
cleanup:
	mg_buf_dispose(&reason);
	session_close(&s);
	return code;
}

int cmd_baseline(const struct opts *o)
{
	return mark(o, false);
}

int cmd_repair(const struct opts *o)
{
	return mark(o, true);
}

static int write_hex(const char *path, const unsigned char *bin, size_t len,
                     mode_t mode, struct mg_error *err)
{
	char hex[256];
	int fd;
	size_t n;

	sodium_bin2hex(hex, sizeof(hex), bin, len);
	n = strlen(hex);
	hex[n++] = '\n';
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)) < 0)
		return mg_error_set(err, MG_ERR, "cannot create '%s': %s", path,
		                    strerror(errno));
	if (write(fd, hex, n) != (ssize_t)n) {
		close(fd);
		return mg_error_set(err, MG_ERR, "cannot write '%s'", path);
	}
	sodium_memzero(hex, sizeof(hex));
	close(fd);
	return 0;
}

int cmd_keygen(const struct opts *o)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	struct mg_buf pub = MG_BUF_INIT;
	struct mg_error err = { 0 };
	int code = EXIT_OK;

	if (o->out == NULL || o->nargs > 0)
		return usage_error(o, "keygen takes --out FILE");
	mg_buf_addf(&pub, "%s.pub", o->out);
	crypto_sign_keypair(pk, sk);
	if (mg_buf_check(&pub, &err) < 0 ||
	    write_hex(o->out, sk, sizeof(sk), 0600, &err) < 0 ||
	    write_hex(pub.ptr, pk, sizeof(pk), 0644, &err) < 0) {
		code = report(o, &err);
		goto cleanup;
	}
	say(o,
	    "secret key: %s (set MIGRATE_SIGNING_KEY=%s)\n"
	        "public key: %s (for 'migrate verify --public-key')\n",
	        o->out, o->out, pub.ptr);
cleanup:
	sodium_memzero(sk, sizeof(sk));
	mg_buf_dispose(&pub);
	return code;
}
