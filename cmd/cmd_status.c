/* migrate status, migrate ledger: read-only views. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/backup_catalog.h"
#include "cmd/cmd.h"
#include "cmd/safety.h"
#include "cmd/html.h"
#include "migrator/buf.h"
#include "migrator/checkpoint.h"
#include "migrator/driver.h"
#include "migrator/json.h"
#include "migrator/ledger.h"
#include "migrator/meet.h"
#include "migrator/plan.h"
#include "migrator/source.h"

/* status --exit-code, for CI to gate on (SPEC.md): the worst state
 * wins; pending alone is 6. */
static int status_exit_code(const size_t counts[])
{
	if (counts[MG_STATE_FAILED] || counts[MG_STATE_DIRTY])
		return EXIT_RUNTIME;
	if (counts[MG_STATE_DRIFTED] || counts[MG_STATE_MISSING])
		return EXIT_VERIFY;
	if (counts[MG_STATE_PENDING])
		return EXIT_PENDING;
	return EXIT_OK;
}

/* backups: "backups: 2 kept, 1 expired (migrate prune drops them)";
 * with --json a last object {"event":"backups","exist":2,"expired":1}.
 * Both only where the ledger ever recorded a backup. */
static void say_backups(const struct opts *o, struct mg_conn *conn,
                        const struct mg_ledger *l)
{
	struct mg_catalog cat = { 0 };
	struct mg_error err = { 0 };
	struct mg_buf b = MG_BUF_INIT;
	struct mg_json w;

	if (conn->drv->table_info == NULL || l == NULL || !l->exists ||
	    mg_catalog_load(&cat, conn, o->table, &err) < 0)
		return;
	if (cat.n > 0 && o->json) {
		mg_json_init(&w, &b);
		mg_json_object_begin(&w, NULL);
		mg_json_string(&w, "event", "backups");
		mg_json_int(&w, "exist", (int64_t)cat.kept);
		mg_json_int(&w, "expired", (int64_t)cat.expired);
		mg_json_end(&w);
		print_json_line(&b);
	} else if (cat.n > 0) {
		say(o, "backups: %zu kept, %zu expired%s\n", cat.kept,
		    cat.expired,
		    cat.expired > 0 ? " ('migrate prune' drops them)" : "");
	}
	mg_buf_dispose(&b);
	mg_catalog_dispose(&cat);
}

int cmd_status(const struct opts *o)
{
	struct mg_source *src = NULL;
	struct mg_conn *conn = NULL;
	struct mg_ledger *l = NULL;
	struct mg_status st = { 0 };
	struct mg_error err = { 0 };
	struct mg_buf b = MG_BUF_INIT;
	struct mg_json w;
	size_t i, width = 4, counts[MG_STATE_MISSING + 1] = { 0 };
	int code;

	if (o->nargs > 0)
		return usage_error(o, "unexpected argument '%s'", o->args[0]);
	if ((code = open_source(&src, o)) != 0 ||
	    (code = open_db(&conn, o, MG_CONNECT_READ_ONLY)) != 0)
		goto cleanup;
	standby_note(o, conn);
	/* no lock: a read-only look may run beside a migration */
	if (mg_ledger_load(&l, conn, o->table, false, &err) < 0 ||
	    mg_status_build(&st, src, l, &err) < 0) {
		code = report(o, &err);
		goto cleanup;
	}
	for (i = 0; i < st.n; i++) /* names as wide as the widest */
		if (st.v[i].name && strlen(st.v[i].name) > width)
			width = strlen(st.v[i].name);
	if (!o->json)
		printf("%-18s %-*s %-8s %s\n", "VERSION", (int)width, "NAME",
		       "STATE", "SINCE");
	for (i = 0; i < st.n; i++) {
		const struct mg_status_entry *e = &st.v[i];
		const char *since =
		        e->last ? e->last->f[MG_LF_FINISHED_AT] : NULL;
		/* issue 12: a dirty marker whose runner still holds the
		 * lock is a run in progress, not a file to repair */
		char busy[300] = "";
		bool running = e->state == MG_STATE_DIRTY &&
		               mg_meet_in_progress(busy, sizeof(busy), conn,
		                                   o->table, e->last);

		counts[e->state]++;
		if (!o->json) {
			const char *state = mg_state_name(e->state);

			printf("%-18lld %-*s %s%-8s%s %s\n",
			       (long long)e->version, (int)width, e->name,
			       colour_on(stdout, state), state,
			       colour_off(stdout, state),
			       running ? busy : since ? since : "");
			continue;
		}
		mg_json_init(&w, &b);
		mg_json_object_begin(&w, NULL);
		mg_json_int(&w, "version", e->version);
		mg_json_string(&w, "name", e->name);
		mg_json_string(&w, "state", mg_state_name(e->state));
		mg_json_string(&w, "file", e->m ? e->m->up.path : NULL);
		mg_json_string(&w, "since", since);
		if (running)
			mg_json_string(&w, "in_progress", busy);
		mg_json_end(&w);
		print_json_line(&b);
	}
	say(o,
	    "%zu applied, %zu pending, %zu failed, %zu dirty, "
	        "%zu drifted, %zu missing\n",
	        counts[MG_STATE_APPLIED], counts[MG_STATE_PENDING],
	        counts[MG_STATE_FAILED], counts[MG_STATE_DIRTY],
	        counts[MG_STATE_DRIFTED], counts[MG_STATE_MISSING]);
	say_backups(o, conn, l); /* backups */
	code = o->exit_code ? status_exit_code(counts) : EXIT_OK;
cleanup:
	mg_buf_dispose(&b);
	mg_status_dispose(&st);
	mg_ledger_free(l);
	close_db(conn);
	mg_source_free(src);
	return code;
}

static void csv_field(const char *v)
{
	const char *p;

	if (v == NULL)
		return;
	if (strpbrk(v, ",\"\r\n") == NULL) {
		fputs(v, stdout);
		return;
	}
	putchar('"');
	for (p = v; *p; p++) {
		if (*p == '"')
			putchar('"');
		putchar(*p);
	}
	putchar('"');
}

#define TABLE_FORMAT                                                           \
	"%-5s %-8s %-24.24s %-9s %-11s %-27s %6s  %-10.10s %-8s %.*s\n"

/* "2/3 ok": how many of a row's checks passed, from its JSON evidence;
 * "?" when the stored text is not the array migrate writes */
static void summarize_checks(char *out, size_t size, const char *json)
{
	struct mg_json_value *v = NULL;
	size_t total = 0, ok = 0, i;
	const char *verdict;

	if (json == NULL) {
		snprintf(out, size, "-");
		return;
	}
	if (mg_json_parse(&v, json, NULL) < 0 || !mg_json_is_array(v)) {
		snprintf(out, size, "?");
		goto cleanup;
	}
	for (i = 0; i < mg_json_array_size(v); i++) {
		verdict = mg_json_object_string(mg_json_array_get(v, i),
		                                "verdict");
		total++;
		ok += verdict != NULL && strcmp(verdict, "ok") == 0;
	}
	if (total == 0)
		snprintf(out, size, "-");
	else
		snprintf(out, size, "%zu/%zu ok", ok, total);
cleanup:
	mg_json_value_free(v);
}

static bool is_number(int f)
{
	return f == MG_LF_ID || f == MG_LF_VERSION || f == MG_LF_DURATION_MS;
}

/* A number column as a JSON number; a tampered ledger may hold any text
 * there (SQLite columns take any type), which stays a string. */
static void json_number(struct mg_json *w, const char *key, const char *v)
{
	char *e;
	long long n;

	if (v == NULL) {
		mg_json_null(w, key);
		return;
	}
	errno = 0;
	n = strtoll(v, &e, 10);
	if (errno == 0 && e != v && *e == '\0' &&
	    (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')))
		mg_json_int(w, key, n);
	else
		mg_json_string(w, key, v);
}

static void print_row(const struct mg_ledger_row *row, const char *format)
{
	struct mg_buf b = MG_BUF_INIT;
	struct mg_json w;
	int f;

	if (strcmp(format, "csv") == 0) {
		for (f = 0; f < MG_LF_COUNT; f++) {
			if (f > 0)
				putchar(',');
			csv_field(row->f[f]);
		}
		putchar('\n');
	} else if (strcmp(format, "json") == 0) {
		mg_json_init(&w, &b);
		mg_json_object_begin(&w, NULL);
		for (f = 0; f < MG_LF_COUNT; f++) {
			const char *key = mg_ledger_field_name(f);

			if (is_number(f))
				json_number(&w, key, row->f[f]);
			else if (f == MG_LF_CHECKS)
				mg_json_array_or_string(&w, key, row->f[f]);
			else
				mg_json_string(&w, key, row->f[f]);
		}
		mg_json_end(&w);
		print_json_line(&b);
	} else {
		const char *e = row->f[MG_LF_ERROR];
		size_t elen = e ? strcspn(e, "\n") : 0;
		char checks[32];

		summarize_checks(checks, sizeof(checks), row->f[MG_LF_CHECKS]);
		printf(TABLE_FORMAT, row->f[MG_LF_ID], row->f[MG_LF_VERSION],
		       row->f[MG_LF_NAME], row->f[MG_LF_DIRECTION],
		       row->f[MG_LF_STATUS],
		       row->f[MG_LF_FINISHED_AT] ? row->f[MG_LF_FINISHED_AT]
		                                 : "",
		       row->f[MG_LF_DURATION_MS] ? row->f[MG_LF_DURATION_MS]
		                                 : "",
		       row->f[MG_LF_OS_USER] ? row->f[MG_LF_OS_USER] : "",
		       checks, (int)elen, e ? e : "");
	}
	mg_buf_dispose(&b);
}

/* ledger --checkpoint FILE: the head, signed with MIGRATE_SIGNING_KEY
 * when it is set, for the pipeline to keep outside the database. */
static int write_checkpoint(const struct opts *o, const struct mg_ledger *l)
{
	struct mg_checkpoint cp;
	struct mg_buf b = MG_BUF_INIT;
	struct mg_error err = { 0 };
	unsigned char key[64];
	bool have_key;
	FILE *f = NULL;
	int code;

	if ((code = load_signing_key(key, &have_key, o)) != 0)
		return code;
	mg_checkpoint_of(&cp, l);
	mg_checkpoint_format(&b, &cp, have_key ? key : NULL);
	sodium_memzero(key, sizeof(key));
	if (mg_buf_check(&b, &err) < 0) {
		code = report(o, &err);
		goto cleanup;
	}
	if ((f = fopen(o->checkpoint, "w")) == NULL ||
	    fwrite(b.ptr, 1, b.len, f) != b.len || fclose(f) != 0) {
		f = NULL;
		mg_error_set(&err, MG_ERR, "cannot write '%s': %s",
		             o->checkpoint, strerror(errno));
		code = report(o, &err);
		goto cleanup;
	}
	f = NULL;
	say(o, "checkpoint %s: %lld rows up to id %lld, head %.16s...%s\n",
	        o->checkpoint, (long long)cp.rows, (long long)cp.last_id,
	        cp.head, have_key ? ", signed" : "");
	code = EXIT_OK;
cleanup:
	if (f != NULL)
		fclose(f);
	mg_buf_dispose(&b);
	return code;
}

/* --format html (issue 10): the page on stdout; exit 4 when the
 * verdicts on it say the ledger was tampered with. */
static int ledger_html(const struct opts *o, const struct mg_ledger *l)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	struct mg_error err = { 0 };
	size_t problems;

	if (o->public_key != NULL &&
	    read_hex_file(pk, sizeof(pk), o->public_key, &err) < 0)
		return report(o, &err);
	problems = html_ledger(stdout, l, o->public_key ? pk : NULL, o);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		mg_error_set(&err, MG_ERR, "cannot write the page");
		return report(o, &err);
	}
	if (problems > 0)
		fprintf(stderr,
		        "ledger: %zu problem%s in the hash chain or "
		        "signatures: see the page\n",
		        problems, problems == 1 ? "" : "s");
	return problems > 0 ? EXIT_VERIFY : EXIT_OK;
}

int cmd_ledger(const struct opts *o)
{
	const char *format = o->format ? o->format : o->json ? "json" : "table";
	struct mg_conn *conn = NULL;
	struct mg_ledger *l = NULL;
	struct mg_error err = { 0 };
	size_t i;
	int code, f;

	if (o->json && strcmp(format, "json") != 0)
		return usage_error(o,
		                   "--json prints JSON lines: it does not go "
		                   "with --format %s",
		                   format);
	if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0 &&
	    strcmp(format, "csv") != 0 && strcmp(format, "html") != 0)
		return usage_error(o,
		                   "--format takes table, json, csv or html, "
		                   "not '%s'",
		                   format);
	if (o->public_key != NULL && strcmp(format, "html") != 0)
		return usage_error(o, "--public-key goes with --format html "
		                      "(and verify)");
	if (o->nargs > 0)
		return usage_error(o, "unexpected argument '%s'", o->args[0]);
	if ((code = open_db(&conn, o, MG_CONNECT_READ_ONLY)) != 0)
		goto cleanup;
	standby_note(o, conn);
	if (mg_ledger_load(&l, conn, o->table, true, &err) < 0) {
		code = report(o, &err);
		goto cleanup;
	}
	if (strcmp(format, "html") == 0) {
		code = ledger_html(o, l);
		goto cleanup;
	}
	if (strcmp(format, "csv") == 0) {
		for (f = 0; f < MG_LF_COUNT; f++)
			printf("%s%s", f ? "," : "", mg_ledger_field_name(f));
		putchar('\n');
	} else if (strcmp(format, "table") == 0) {
		printf(TABLE_FORMAT, "ID", "VERSION", "NAME", "DIRECTION",
		       "STATUS", "FINISHED_AT", "MS", "OS_USER", "CHECKS", 5,
		       "ERROR");
	}
	for (i = 0; i < l->n; i++)
		print_row(&l->rows[i], format);
	if (!l->exists)
		say(o, "no ledger table '%s' yet: nothing has run\n",
		        o->table);
	code = o->checkpoint ? write_checkpoint(o, l) : EXIT_OK;
cleanup:
	mg_ledger_free(l);
	close_db(conn);
	return code;
}
