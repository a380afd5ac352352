/* migrate up, migrate down: run the plan and show each event. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "checks/check.h"
#include "checks/directive.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/runner.h"
#include "migrator/source.h"
#include "rollback/roundtrip.h"

struct run_ctx {
	const struct opts *o;
};

/* The error as one JSON string, "FILE:LINE: message" */
static void add_json_error(struct mg_buf *b, const struct mg_error *err)
{
	char where[sizeof(err->path) + 16];
	struct mg_buf msg = MG_BUF_INIT;

	mg_error_where(where, sizeof(where), err);
	mg_buf_addf(&msg, "%s%s", where, err->msg);
	mg_buf_add_json(b, mg_buf_cstr(&msg));
	mg_buf_dispose(&msg);
}

/* "  rows users: 1523 -> 1523 ok", one line a check */
static void print_checks(const struct mg_event *ev)
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
		fprintf(stderr, "  %s\n", mg_buf_cstr(&b));
	}
	mg_buf_dispose(&b);
}

static void print_dry_run(const struct mg_event *ev)
{
	fprintf(stderr, "would run %s %s\n  checksum %s%s\n",
	        mg_direction_name(ev->direction), ev->file, ev->checksum,
	        ev->no_transaction ? ", outside a transaction" : "");
	print_checks(ev);
	if (ev->err != NULL)
		fprintf(stderr, "  checks not evaluated yet: %s\n",
		        ev->err->msg);
}

/* migrate test's verdict on one migration's down file */
static void on_roundtrip(const struct run_ctx *ctx, const struct mg_event *ev)
{
	struct mg_buf b = MG_BUF_INIT;

	if (ev->status == MG_OUTCOME_OK)
		fprintf(stderr, "test %s: down restores the schema\n",
		        ev->file);
	else if (ev->status == MG_OUTCOME_SKIPPED)
		fprintf(stderr, "test %s: irreversible, no round trip\n",
		        ev->file);
	if (!ctx->o->json)
		return;
	mg_buf_addf(&b, "{\"event\":\"roundtrip\",\"version\":%lld,\"name\":",
	            (long long)ev->m->version);
	mg_buf_add_json(&b, ev->m->name);
	mg_buf_add(&b, ",\"status\":");
	mg_buf_add_json(&b, mg_outcome_name(ev->status));
	mg_buf_add(&b, ",\"schema\":");
	mg_buf_add_json(&b, ev->checksum);
	if (ev->err != NULL) {
		mg_buf_add(&b, ",\"error\":");
		mg_buf_add_json(&b, ev->err->msg);
		mg_buf_add(&b, ",\"differences\":");
		mg_buf_add_json(&b, ev->err->detail);
	}
	mg_buf_add(&b, "}");
	printf("%s\n", mg_buf_cstr(&b));
	fflush(stdout);
	mg_buf_dispose(&b);
}

static void on_event(void *arg, const struct mg_event *ev)
{
	const struct run_ctx *ctx = arg;
	struct mg_buf b = MG_BUF_INIT;

	if (ev->direction == MG_DIR_ROUNDTRIP) {
		on_roundtrip(ctx, ev);
		return;
	}
	if (ev->dry_run) {
		print_dry_run(ev);
	} else {
		fprintf(stderr, "%-4s %s: %s (%lld ms)\n",
		        mg_direction_name(ev->direction), ev->file,
		        mg_outcome_name(ev->status), (long long)ev->duration_ms);
		print_checks(ev);
	}
	if (!ctx->o->json)
		return;
	mg_buf_addf(&b, "{\"event\":\"migration\",\"version\":%lld,\"name\":",
	            (long long)ev->m->version);
	mg_buf_add_json(&b, ev->m->name);
	mg_buf_add(&b, ",\"direction\":");
	mg_buf_add_json(&b, mg_direction_name(ev->direction));
	mg_buf_add(&b, ",\"status\":");
	mg_buf_add_json(&b, mg_outcome_name(ev->status));
	mg_buf_addf(&b, ",\"duration_ms\":%lld,\"checks\":%s,\"file\":",
	            (long long)ev->duration_ms, ev->checks_json);
	mg_buf_add_json(&b, ev->file);
	mg_buf_add(&b, ",\"checksum\":");
	mg_buf_add_json(&b, ev->checksum);
	if (ev->dry_run)
		mg_buf_add(&b, ",\"dry_run\":true");
	if (ev->err != NULL && !ev->dry_run) {
		mg_buf_add(&b, ",\"error\":");
		add_json_error(&b, ev->err);
		if (ev->err->sqlstate[0]) {
			mg_buf_add(&b, ",\"sqlstate\":");
			mg_buf_add_json(&b, ev->err->sqlstate);
		}
	}
	mg_buf_add(&b, "}");
	printf("%s\n", mg_buf_cstr(&b));
	fflush(stdout);
	mg_buf_dispose(&b);
}

enum mode { MODE_UP, MODE_DOWN, MODE_TEST };

static int run(const struct opts *o, enum mode mode)
{
	struct session s;
	struct mg_error err = { 0 };
	struct run_ctx ctx = { o };
	char extra[64];
	int code, rc;

	if (o->nargs > 0)
		return usage_error(o, "unexpected argument '%s'", o->args[0]);
	if (mode != MODE_DOWN && (o->all || o->steps))
		return usage_error(o, "%s takes --to V, not --steps or --all",
		                   o->command);
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
	if (mode != MODE_DOWN) {
		struct mg_up_opts uo = { .to = o->to,
			                 .allow_out_of_order =
			                         o->allow_out_of_order };

		if (mode == MODE_TEST)
			rc = mg_roundtrip_run(&s.r, &uo, &err);
		else
			rc = mg_run_up(&s.r, &uo, o->dry_run, &err);
	} else {
		struct mg_down_opts d = { .steps = o->steps,
			                  .to = o->to,
			                  .all = o->all };

		rc = mg_run_down(&s.r, &d, o->dry_run, &err);
	}
	if (rc < 0) {
		code = report(o, &err);
		goto cleanup;
	}
	if (!o->dry_run)
		fprintf(stderr, "%zu migration%s %s\n", s.r.applied,
		        s.r.applied == 1 ? "" : "s",
		        mode == MODE_DOWN ? "rolled back" : "applied");
	snprintf(extra, sizeof(extra), "\"%s\":%zu",
	         mode == MODE_DOWN ? "rolled_back" : "applied", s.r.applied);
	print_summary(o, "ok", EXIT_OK, extra);
	code = EXIT_OK;
cleanup:
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
