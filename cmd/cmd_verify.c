/* migrate verify: files against the ledger; the ledger's hash chain and
 * signatures through mg_ledger_verify(). */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/safety.h"
#include "migrator/buf.h"
#include "migrator/checkpoint.h"
#include "migrator/driver.h"
#include "migrator/json.h"
#include "migrator/ledger.h"
#include "migrator/meet.h"
#include "migrator/plan.h"
#include "migrator/source.h"

struct verify {
	const struct opts *o;
	size_t problems;
};

static void problem(struct verify *v, const char *fmt, ...) MG_PRINTF(2, 3);

static void problem(struct verify *v, const char *fmt, ...)
{
	struct mg_buf b = MG_BUF_INIT;
	struct mg_json w;
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	v->problems++;
	fprintf(stderr, "verify: %s\n", line);
	if (!v->o->json)
		return;
	mg_json_init(&w, &b);
	mg_json_object_begin(&w, NULL);
	mg_json_string(&w, "event", "problem");
	mg_json_string(&w, "message", line);
	mg_json_end(&w);
	print_json_line(&b);
}

/* The ledger's own problems (mg_ledger_verify) are printed as the
 * files' are. */
static void on_ledger_problem(void *ctx, enum mg_ledger_problem kind,
                              int64_t id, int64_t version, const char *msg)
{
	(void)kind;
	(void)id;
	(void)version;
	problem(ctx, "%s", msg);
}

static void check_files(struct verify *v, const struct mg_status *st,
                        struct mg_conn *conn)
{
	size_t i;

	for (i = 0; i < st->n; i++) {
		const struct mg_status_entry *e = &st->v[i];
		char busy[300];

		if (e->state == MG_STATE_DRIFTED)
			problem(v,
			        "%s changed since it was applied (ledger "
			        "row %lld: %s, file: %s)",
			        e->m->up.path, (long long)e->last_ok->id,
			        e->last_ok->f[MG_LF_UP_CHECKSUM],
			        e->m->up.checksum);
		else if (e->state == MG_STATE_MISSING)
			problem(v,
			        "%lld_%s is applied but its files are "
			        "missing",
			        (long long)e->version, e->name);
		else if (e->state == MG_STATE_DIRTY &&
		         mg_meet_in_progress(busy, sizeof(busy), conn,
		                             v->o->table, e->last))
			/* a MySQL run's marker while its runner holds the
			 * lock: not half-applied, only not done yet (as
			 * status says) */
			say(v->o, "verify: %lld_%s is %s\n",
			    (long long)e->version, e->name, busy);
		else if (e->state == MG_STATE_DIRTY)
			problem(v, "%lld_%s is dirty (half-applied)",
			        (long long)e->version, e->name);
		/* the down file an engineer will run must be the one that
		 * was there when the up ran (and was proven by migrate test) */
		if (e->applied && e->m != NULL && e->m->down.path != NULL &&
		    e->last_ok->f[MG_LF_DOWN_CHECKSUM] != NULL &&
		    strcmp(e->last_ok->f[MG_LF_DOWN_CHECKSUM],
		           e->m->down.checksum) != 0)
			problem(v,
			        "%s changed since its up ran (ledger row "
			        "%lld: %s, file: %s)",
			        e->m->down.path, (long long)e->last_ok->id,
			        e->last_ok->f[MG_LF_DOWN_CHECKSUM],
			        e->m->down.checksum);
	}
}

/* verify --checkpoint FILE: a history shorter than, or diverging from,
 * the head kept outside the database is a problem like any other. A
 * file that is no checkpoint is a usage error. */
static int check_checkpoint(struct verify *v, const struct mg_ledger *l,
                            const unsigned char *pk)
{
	struct mg_checkpoint cp;
	struct mg_buf text = MG_BUF_INIT;
	struct mg_error err = { 0 };
	int rc, code = 0;

	if ((rc = read_text_file(&text, v->o->checkpoint, 65536, &err)) < 0 ||
	    (rc = mg_checkpoint_parse(&cp, text.ptr, text.len, pk, &err)) ==
	            MG_EINVALID ||
	    rc == MG_ENOMEM ||
	    (rc == 0 && (rc = mg_checkpoint_check(&cp, l, &err)) ==
	                        MG_EINVALID)) {
		if (err.line > 0)
			mg_error_locate(&err, v->o->checkpoint, err.line);
		code = report(v->o, &err);
	} else if (rc < 0) {
		problem(v, "%s: %s%s%s%s", v->o->checkpoint, err.msg,
		        err.detail[0] ? " (" : "", err.detail,
		        err.detail[0] ? ")" : "");
	}
	mg_buf_dispose(&text);
	return code;
}

int cmd_verify(const struct opts *o)
{
	struct verify v = { o, 0 };
	struct mg_source *src = NULL;
	struct mg_conn *conn = NULL;
	struct mg_ledger *l = NULL;
	struct mg_status st = { 0 };
	struct mg_error err = { 0 };
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	int code;

	if (o->nargs > 0)
		return usage_error(o, "unexpected argument '%s'", o->args[0]);
	if (o->public_key != NULL &&
	    read_hex_file(pk, sizeof(pk), o->public_key, &err) < 0)
		return report(o, &err);
	if ((code = open_source(&src, o)) != 0 ||
	    (code = open_db(&conn, o, MG_CONNECT_READ_ONLY)) != 0)
		goto cleanup;
	standby_note(o, conn);
	if (mg_ledger_load(&l, conn, o->table, true, &err) < 0 ||
	    mg_status_build(&st, src, l, &err) < 0) {
		code = report(o, &err);
		goto cleanup;
	}
	mg_ledger_verify(l, o->public_key ? pk : NULL, on_ledger_problem, &v);
	check_files(&v, &st, conn);
	if (o->checkpoint &&
	    (code = check_checkpoint(&v, l, o->public_key ? pk : NULL)) != 0)
		goto cleanup;
	code = v.problems ? EXIT_VERIFY : EXIT_OK;
	say(o,
	    "verified %zu ledger row%s and %zu migration%s: "
	        "%zu problem%s\n",
	        l->n, l->n == 1 ? "" : "s", src->n, src->n == 1 ? "" : "s",
	        v.problems, v.problems == 1 ? "" : "s");
	if (o->json) {
		struct mg_buf b = MG_BUF_INIT;
		struct mg_json w;

		summary_begin(&w, &b, o, v.problems ? "failed" : "ok", code);
		mg_json_int(&w, "rows", (int64_t)l->n);
		mg_json_int(&w, "problems", (int64_t)v.problems);
		mg_json_end(&w);
		print_json_line(&b);
	}
cleanup:
	mg_status_dispose(&st);
	mg_ledger_free(l);
	close_db(conn);
	mg_source_free(src);
	return code;
}
