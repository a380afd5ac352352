/* migrate up, migrate down: run the plan and show each event. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/safety.h"
#include "cmd/plan.h"
#include "checks/evidence.h"
#include "checks/check.h"
#include "checks/directive.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/drivers/url.h"
#include "migrator/json.h"
#include "migrator/monitor.h"
#include "migrator/preview.h"
#include "migrator/runner.h"
#include "migrator/source.h"
#include "rollback/locks.h"
#include "rollback/roundtrip.h"

struct run_ctx {
	const struct opts *o;
};

/* The error as one JSON string, "FILE:LINE: message", never holding a
 * password */
static void json_error(struct mg_json *w, const struct opts *o,
                       const struct mg_error *err)
{
	char where[sizeof(err->path) + 16], text[sizeof(where) + 512];

	mg_error_where(where, sizeof(where), err);
	snprintf(text, sizeof(text), "%s%s", where, err->msg);
	scrub_secrets(o, text, sizeof(text));
	mg_json_string(w, "error", text);
}

/* "  rows users: 1523 -> 1523 ok", one line a check */
static void print_checks(FILE *out, const struct mg_event *ev)
{
	const struct mg_file *f =
	        ev->direction == MG_DIR_UP ? &ev->m->up : &ev->m->down;
	struct mg_buf b = MG_BUF_INIT;
	size_t i;

	for (i = 0; i < f->dir.nchecks; i++) {
		mg_buf_truncate(&b, 0);
		if (ev->checks != NULL)
			mg_checks_describe(ev->checks, i, &b);
		else
			mg_buf_add(&b, f->dir.checks[i].text);
		fprintf(out, "  %s\n", mg_buf_cstr(&b));
	}
	mg_buf_dispose(&b);
	print_backup_evidence(out, ev->checks_json); /* backups */
}

/* "  line 9: UPDATE, 1 row (0 ms)", one line a statement; the first 10
 * (all with -v), then how many more. */
void print_statements(FILE *out, bool verbose, const struct mg_evidence *ev)
{
	size_t i, max = verbose ? ev->n : 10;

	for (i = 0; i < ev->n && i < max; i++) {
		const struct mg_stmt_rec *r = &ev->v[i];

		fprintf(out, "  line %u: %s", r->line,
		        r->tag[0] ? r->tag : "statement");
		if (r->rows >= 0)
			fprintf(out, ", %lld row%s", (long long)r->rows,
			        r->rows == 1 ? "" : "s");
		fprintf(out, " (%lld ms)\n", (long long)r->ms);
	}
	if (ev->total > i)
		fprintf(out,
		        "  ... %zu more statement%s (%zu in all, %lld rows, "
		        "%lld ms)\n",
		        ev->total - i, ev->total - i == 1 ? "" : "s", ev->total,
		        (long long)ev->rows, (long long)ev->ms);
}

/*
 * The plan, on stdout so that `up --dry-run > plan.txt` keeps it (not
 * with --json: the migration events carry it); with --show-sql each
 * file's text too, indented, as it will run.
 */
static void print_dry_run(const struct run_ctx *ctx, const struct mg_event *ev)
{
	FILE *out = stdout;
	const struct mg_file *f =
	        ev->direction == MG_DIR_UP ? &ev->m->up : &ev->m->down;
	const char *p, *nl;
	char text[sizeof(ev->err->msg)];

	fprintf(out, "would run %s %s\n  checksum %s%s\n",
	        mg_direction_name(ev->direction), ev->file, ev->checksum,
	        ev->no_transaction ? ", outside a transaction" : "");
	print_checks(out, ev);
	if (ev->err != NULL) {
		snprintf(text, sizeof(text), "%s", ev->err->msg);
		scrub_secrets(ctx->o, text, sizeof(text));
		fprintf(out, "  checks not evaluated yet: %s\n", text);
	}
	if (!ctx->o->show_sql)
		return;
	fprintf(out, "  sql:\n");
	for (p = f->text; p < f->text + f->len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(f->text + f->len - p));
		if (nl == NULL)
			nl = f->text + f->len;
		fprintf(out, "%s%.*s\n", nl > p ? "    " : "", (int)(nl - p),
		        p);
	}
}

/* migrate test's verdict on one migration's down file */
static void on_roundtrip(const struct run_ctx *ctx, const struct mg_event *ev)
{
	struct mg_buf b = MG_BUF_INIT;
	struct mg_json w;

	if (ev->status == MG_OUTCOME_OK)
		say(ctx->o, "test %s: down restores the schema\n",
		        ev->file);
	else if (ev->status == MG_OUTCOME_SKIPPED)
		say(ctx->o, "test %s: irreversible, no round trip\n",
		        ev->file);
	if (!ctx->o->json)
		return;
	mg_json_init(&w, &b);
	mg_json_object_begin(&w, NULL);
	mg_json_string(&w, "event", "roundtrip");
	mg_json_int(&w, "version", ev->m->version);
	mg_json_string(&w, "name", ev->m->name);
	mg_json_string(&w, "status", mg_outcome_name(ev->status));
	mg_json_string(&w, "schema", ev->checksum);
	if (ev->err != NULL) {
		mg_json_string(&w, "error", ev->err->msg);
		mg_json_string(&w, "differences", ev->err->detail);
	}
	mg_json_end(&w);
	print_json_line(&b);
}

static void on_event(void *arg, const struct mg_event *ev)
{
	const struct run_ctx *ctx = arg;
	struct mg_buf b = MG_BUF_INIT;
	struct mg_json w;

	if (ev->direction == MG_DIR_ROUNDTRIP) {
		on_roundtrip(ctx, ev);
		return;
	}
	if (ev->dry_run) {
		if (!ctx->o->json) /* the JSON line below carries it */
			print_dry_run(ctx, ev);
	} else if (ev->not_rehearsed) {
		say(ctx->o, "not rehearsed %s: -- migrate:no-transaction, it "
		            "cannot be rolled back\n",
		    ev->file);
	} else {
		const char *word = mg_outcome_name(ev->status);

		/* over the progress line a terminal shows (cmd/safety.c) */
		if (!ctx->o->quiet && !ctx->o->json && isatty(STDERR_FILENO))
			fputs("\r\033[K", stderr);
		say(ctx->o, "%s%-4s %s: %s%s%s (%lld ms)\n",
		    ev->preview ? "rehearsed " : "",
		    mg_direction_name(ev->direction), ev->file,
		    colour_on(stderr, word), word, colour_off(stderr, word),
		    (long long)ev->duration_ms);
		if (!ctx->o->quiet && !ctx->o->json) {
			print_checks(stderr, ev);
			if (ev->evidence != NULL)
				print_statements(stderr, ctx->o->verbose,
				                 ev->evidence);
		}
	}
	if (!ctx->o->json)
		return;
	mg_json_init(&w, &b);
	mg_json_object_begin(&w, NULL);
	mg_json_string(&w, "event", "migration");
	mg_json_int(&w, "version", ev->m->version);
	mg_json_string(&w, "name", ev->m->name);
	mg_json_string(&w, "direction", mg_direction_name(ev->direction));
	mg_json_string(&w, "status", mg_outcome_name(ev->status));
	mg_json_int(&w, "duration_ms", ev->duration_ms);
	mg_json_array_or_string(&w, "checks", ev->checks_json);
	mg_json_string(&w, "file", ev->file);
	mg_json_string(&w, "checksum", ev->checksum);
	if (ev->dry_run)
		mg_json_bool(&w, "dry_run", true);
	if (ev->preview)
		mg_json_bool(&w, "preview", true);
	if (ev->not_rehearsed)
		mg_json_string(&w, "not_rehearsed",
		               "-- migrate:no-transaction: it cannot be rolled "
		               "back");
	if (ev->dry_run && ctx->o->show_sql)
		mg_json_string(&w, "sql",
		               (ev->direction == MG_DIR_UP ? &ev->m->up
		                                           : &ev->m->down)
		                       ->text);
	if (ev->err != NULL && ev->dry_run) {
		char text[sizeof(ev->err->msg)];

		/* why the checks' before values are missing (a table the
		 * files before it create) */
		snprintf(text, sizeof(text), "%s", ev->err->msg);
		scrub_secrets(ctx->o, text, sizeof(text));
		mg_json_string(&w, "checks_not_evaluated", text);
	}
	if (ev->err != NULL && !ev->dry_run) {
		json_error(&w, ctx->o, ev->err);
		if (ev->err->sqlstate[0])
			mg_json_string(&w, "sqlstate", ev->err->sqlstate);
	}
	mg_json_end(&w);
	print_json_line(&b);
}

enum mode { MODE_UP, MODE_DOWN, MODE_TEST };

/* migrate test --locks: one report per statement (or file note) */
static void on_lock_report(void *arg, const struct mg_lock_report *rep)
{
	const struct run_ctx *ctx = arg;
	struct mg_buf b = MG_BUF_INIT;
	struct mg_json w;
	size_t i;

	if (ctx->o->json) {
		mg_json_init(&w, &b);
		mg_json_object_begin(&w, NULL);
		mg_json_string(&w, "event", "locks");
		mg_json_string(&w, "file", rep->file);
		if (rep->note != NULL) {
			mg_json_string(&w, "note", rep->note);
		} else {
			mg_json_int(&w, "line", rep->line);
			mg_json_string(&w, "statement", rep->stmt);
			mg_json_array_begin(&w, "locks");
			for (i = 0; i < rep->nlocks; i++) {
				const struct mg_lock_entry *l = &rep->locks[i];

				mg_json_object_begin(&w, NULL);
				mg_json_string(&w, "table", l->table);
				mg_json_string(&w, "mode", l->mode);
				mg_json_string(&w, "blocks", l->blocks);
				mg_json_int(&w, "table_bytes", l->bytes);
				mg_json_bool(&w, "allowed", l->allowed);
				mg_json_end(&w);
			}
			mg_json_end(&w);
			if (rep->hint != NULL)
				mg_json_string(&w, "hint", rep->hint);
		}
		mg_json_end(&w);
		print_json_line(&b);
		return;
	}
	if (rep->note != NULL) {
		fprintf(stderr, "locks %s: %s\n", rep->file, rep->note);
		return;
	}
	if (rep->nlocks == 0 && rep->hint == NULL)
		return; /* took no lock on an existing table */
	fprintf(stderr, "locks %s:%u: %s\n", rep->file, rep->line, rep->stmt);
	for (i = 0; i < rep->nlocks; i++) {
		const struct mg_lock_entry *l = &rep->locks[i];

		fprintf(stderr, "  %s (%lld bytes): %s, blocks %s%s\n",
		        l->table, (long long)l->bytes, l->mode, l->blocks,
		        l->allowed ? " (allowed)" : "");
	}
	if (rep->hint != NULL)
		fprintf(stderr, "  hint: %s\n", rep->hint);
}

/* The header's second line: what the run will do, before it does. */
static void on_plan(void *arg, const struct mg_plan *p)
{
	const struct run_ctx *ctx = arg;
	const struct opts *o = ctx->o;
	size_t i;

	if (p->n == 0) {
		say(o, "plan: nothing to %s\n",
		    strcmp(o->command, "down") == 0 ? "roll back" : "apply");
		return;
	}
	say(o, "plan: %zu file%s to %s:", p->n, p->n == 1 ? "" : "s",
	    strcmp(o->command, "down") == 0 ? "roll back" : "apply");
	for (i = 0; i < p->n && i < 8; i++) {
		const char *path = strcmp(o->command, "down") == 0
		                           ? p->v[i]->down.path
		                           : p->v[i]->up.path;
		const char *base = path ? strrchr(path, '/') : NULL;
		size_t n;

		base = base ? base + 1 : path ? path : p->v[i]->name;
		n = strlen(base);
		/* the pair's name: without .up.sql or .down.sql */
		if (n > 7 && strcmp(base + n - 7, ".up.sql") == 0)
			n -= 7;
		else if (n > 9 && strcmp(base + n - 9, ".down.sql") == 0)
			n -= 9;
		say(o, " %.*s", (int)n, base);
	}
	say(o, "%s\n", i < p->n ? " ..." : "");
}

/* The header of a run for people: what it runs on, and how. */
static void header(const struct opts *o, enum mode mode)
{
	char *target;

	if (o->dry_run)
		return; /* the plan on stdout says it all */
	target = mg_url_redact(o->database);
	say(o, "%s on %s (ledger %s)%s%s\n", o->command,
	    target ? target : "?", o->table, o->plan_file ? ", plan " : "",
	    o->plan_file ? o->plan_file : "");
	if (mode == MODE_UP && o->preview)
		say(o, "preview: each pending file runs with its checks in "
		       "one transaction that is then rolled back; it takes "
		       "the same locks as the real run, for as long\n");
	free(target);
}

/*
 * up --plan FILE: a dry run of the same options, held to the plan;
 * hash gets the plan file's BLAKE2b-256 for the ledger. Returns an exit
 * code (0: it holds).
 */
static int hold_to_plan(char hash[MG_HASH_HEX_LEN], struct session *s,
                        const struct opts *o, const struct mg_up_opts *uo)
{
	struct plan_doc d = { 0 };
	struct mg_error err = { 0 };
	int rc;

	d.driver = s->conn->drv->name;
	d.table = o->table;
	if ((d.target = mg_url_redact(o->database)) == NULL)
		rc = mg_error_set(&err, MG_ENOMEM, "out of memory");
	else {
		s->r.on_event = plan_collect;
		s->r.ctx = &d;
		rc = mg_run_up(&s->r, uo, true, &err);
	}
	if (rc == 0 && d.failed)
		rc = mg_error_set(&err, MG_ENOMEM, "out of memory");
	if (rc == 0)
		rc = plan_check_file(hash, o->plan_file, &d, &err);
	plan_doc_dispose(&d);
	return rc < 0 ? report(o, &err) : 0;
}

static int run(const struct opts *o, enum mode mode)
{
	struct session s;
	struct mg_error err = { 0 };
	struct run_ctx ctx = { o };
	struct mg_monitor *mon = NULL;
	char plan_hash[MG_HASH_HEX_LEN];
	int code, rc;

	if (o->nargs > 0)
		return usage_error(o, "unexpected argument '%s'", o->args[0]);
	if (mode != MODE_DOWN && (o->all || o->steps))
		return usage_error(o, "%s takes --to V, not --steps or --all",
		                   o->command);
	if (o->show_sql && !o->dry_run)
		return usage_error(o, "--show-sql goes with --dry-run");
	if (o->strict && !o->locks)
		return usage_error(o, "--strict goes with --locks");
	if (o->preview && o->dry_run)
		return usage_error(o, "give --dry-run or --preview, not both: "
		                      "a preview runs the files, a dry run "
		                      "does not");
	if (o->plan_file && (o->dry_run || o->preview))
		return usage_error(o, "--plan runs the approved plan: it takes "
		                      "no --dry-run or --preview ('migrate "
		                      "plan' shows one)");
	if (mode == MODE_TEST && o->dry_run)
		return usage_error(o, "test has no --dry-run: up --dry-run "
		                      "shows the plan");
	if (mode == MODE_DOWN &&
	    ((o->all ? 1 : 0) + (o->steps ? 1 : 0) + (o->to >= 0 ? 1 : 0)) > 1)
		return usage_error(o, "give one of --steps N, --to V, --all");
	if ((code = session_open(&s, o)) != 0)
		goto cleanup;
	/* production safety: progress, blockers, cancel on a signal */
	if (!o->dry_run)
		monitor_open(&mon, o, &s);
	header(o, mode);
	if (mode != MODE_DOWN) {
		struct mg_up_opts uo = { .to = o->to,
			                 .allow_out_of_order =
			                         o->allow_out_of_order };

		size_t violations = 0;

		rc = 0;
		if (o->plan_file != NULL) {
			if ((code = hold_to_plan(plan_hash, &s, o, &uo)) != 0)
				goto cleanup;
			s.r.plan_hash = plan_hash;
			s.r.plan_file = o->plan_file;
		}
		s.r.on_event = on_event;
		s.r.on_plan = on_plan;
		s.r.ctx = &ctx;
		if (mode == MODE_TEST && o->locks)
			rc = mg_locks_run(&s.r, &uo, on_lock_report, &ctx,
			                  &violations, &err);
		/* --strict stops before the round trip applies anything */
		if (rc == 0 && o->strict && violations > 0) {
			rc = mg_error_set(&err, MG_ECHECKSUM,
			                  "--strict: %zu blocking lock%s on "
			                  "existing tables not acknowledged",
			                  violations,
			                  violations == 1 ? "" : "s");
			mg_error_hint(&err,
			              "make the statement take a weaker "
			              "lock (see each hint), or acknowledge "
			              "the lock with '-- migrate:allow-lock "
			              "TABLE' in the file");
		}
		if (rc == 0 && mode == MODE_TEST)
			rc = mg_roundtrip_run(&s.r, &uo, &err);
		else if (rc == 0 && o->preview)
			rc = mg_run_preview(&s.r, &uo, &err);
		else if (rc == 0)
			rc = mg_run_up(&s.r, &uo, o->dry_run, &err);
	} else {
		struct mg_down_opts d = {
			.steps = o->steps,
			.to = o->to,
			.all = o->all,
			.allow_changed_down = o->allow_changed_down,
		};

		s.r.on_event = on_event;
		s.r.on_plan = on_plan;
		s.r.ctx = &ctx;
		rc = mg_run_down(&s.r, &d, o->dry_run, &err);
	}
	mg_monitor_stop(mon);
	mon = NULL;
	if (rc < 0) {
		code = report(o, &err);
		/* stopped by SIGINT/SIGTERM: 130/143, as a shell would */
		if (signal_exit_code() != 0)
			code = signal_exit_code();
		if (o->preview && rc != MG_EINVALID)
			say(o, "the rehearsal was rolled back: nothing "
			       "changed; a real run would exit %d\n",
			    code);
		goto cleanup;
	}
	if (o->preview)
		say(o, "%zu migration%s rehearsed and rolled back: nothing "
		       "changed; a real run would exit 0\n",
		    s.r.applied, s.r.applied == 1 ? "" : "s");
	else if (!o->dry_run)
		say(o, "%zu migration%s %s\n", s.r.applied,
		        s.r.applied == 1 ? "" : "s",
		        mode == MODE_DOWN ? "rolled back" : "applied");
	if (o->json) {
		struct mg_buf b = MG_BUF_INIT;
		struct mg_json w;

		summary_begin(&w, &b, o, "ok", EXIT_OK);
		mg_json_int(&w,
		            o->preview           ? "rehearsed"
		            : mode == MODE_DOWN ? "rolled_back"
		                                : "applied",
		            (int64_t)s.r.applied);
		if (o->preview)
			mg_json_bool(&w, "preview", true);
		mg_json_end(&w);
		print_json_line(&b);
	}
	code = EXIT_OK;
cleanup:
	mg_monitor_stop(mon);
	session_close(&s);
	return code;
}

int cmd_up(const struct opts *o)
{
	return run(o, MODE_UP);
}

int cmd_down(const struct opts *o)
{
	return run(o, MODE_DOWN);
}

int cmd_test(const struct opts *o)
{
	return run(o, MODE_TEST);
}
