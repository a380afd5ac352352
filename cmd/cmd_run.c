/* migrate up, migrate down: run the plan and show each event. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/safety.h"
#include "checks/check.h"
#include "checks/directive.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/json.h"
#include "migrator/monitor.h"
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
}

/*
 * The plan, on stdout so that `up --dry-run > plan.txt` keeps it (with
 * --json, stdout is for JSON: then on stderr); with --show-sql each
 * file's text too, indented, as it will run.
 */
static void print_dry_run(const struct run_ctx *ctx, const struct mg_event *ev)
{
	FILE *out = ctx->o->json ? stderr : stdout;
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
		print_dry_run(ctx, ev);
	} else {
		const char *word = mg_outcome_name(ev->status);

		/* over the progress line a terminal shows (cmd/safety.c) */
		if (!ctx->o->quiet && !ctx->o->json && isatty(STDERR_FILENO))
			fputs("\r\033[K", stderr);
		say(ctx->o, "%-4s %s: %s%s%s (%lld ms)\n",
		    mg_direction_name(ev->direction), ev->file,
		    colour_on(stderr, word), word, colour_off(stderr, word),
		    (long long)ev->duration_ms);
		if (!ctx->o->quiet)
			print_checks(stderr, ev);
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
	if (ev->dry_run && ctx->o->show_sql)
		mg_json_string(&w, "sql",
		               (ev->direction == MG_DIR_UP ? &ev->m->up
		                                           : &ev->m->down)
		                       ->text);
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

static int run(const struct opts *o, enum mode mode)
{
	struct session s;
	struct mg_error err = { 0 };
	struct run_ctx ctx = { o };
	struct mg_monitor *mon = NULL;
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
	if (mode == MODE_TEST && o->dry_run)
		return usage_error(o, "test has no --dry-run: up --dry-run "
		                      "shows the plan");
	if (mode == MODE_DOWN &&
	    ((o->all ? 1 : 0) + (o->steps ? 1 : 0) + (o->to >= 0 ? 1 : 0)) > 1)
		return usage_error(o, "give one of --steps N, --to V, --all");
	if ((code = session_open(&s, o)) != 0)
		goto cleanup;
	s.r.on_event = on_event;
	s.r.ctx = &ctx;
	/* production safety: progress, blockers, cancel on a signal */
	if (!o->dry_run)
		monitor_open(&mon, o, &s);
	if (mode != MODE_DOWN) {
		struct mg_up_opts uo = { .to = o->to,
			                 .allow_out_of_order =
			                         o->allow_out_of_order };

		size_t violations = 0;

		rc = 0;
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
		else if (rc == 0)
			rc = mg_run_up(&s.r, &uo, o->dry_run, &err);
	} else {
		struct mg_down_opts d = {
			.steps = o->steps,
			.to = o->to,
			.all = o->all,
			.allow_changed_down = o->allow_changed_down,
		};

		rc = mg_run_down(&s.r, &d, o->dry_run, &err);
	}
	mg_monitor_stop(mon);
	mon = NULL;
	if (rc < 0) {
		code = report(o, &err);
		/* stopped by SIGINT/SIGTERM: 130/143, as a shell would */
		if (signal_exit_code() != 0)
			code = signal_exit_code();
		goto cleanup;
	}
	if (!o->dry_run)
		say(o, "%zu migration%s %s\n", s.r.applied,
		        s.r.applied == 1 ? "" : "s",
		        mode == MODE_DOWN ? "rolled back" : "applied");
	if (o->json) {
		struct mg_buf b = MG_BUF_INIT;
		struct mg_json w;

		summary_begin(&w, &b, o, "ok", EXIT_OK);
		mg_json_int(&w, mode == MODE_DOWN ? "rolled_back" : "applied",
		            (int64_t)s.r.applied);
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
