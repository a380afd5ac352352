/*
 * migrate job list, migrate job run (SPEC.md, "Jobs"; issue 11): the
 * recurring and batched data work of a jobs directory, each batch run and
 * recorded by the runner as a migration file is.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "checks/check.h"
#include "checks/directive.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/job.h"
#include "migrator/json.h"
#include "migrator/runner.h"

/* Reads and validates the jobs directory; an exit code, 0 when fine. */
static int open_jobs(struct mg_jobs **out, const struct opts *o)
{
	struct mg_problems problems = { 0 };
	struct mg_error err = { 0 };
	size_t i;
	int rc;

	rc = mg_jobs_load(out, o->jobs_dir, &problems, &err);
	for (i = 0; i < problems.n; i++)
		fprintf(stderr, "%s\n", problems.v[i]);
	mg_problems_dispose(&problems);
	if (rc == MG_ENOTFOUND) {
		err.code = MG_EINVALID;
		mg_error_hint(&err, "create it, or pass --jobs-dir DIR (config "
		                    "jobs-dir)");
	}
	return rc < 0 ? report(o, &err) : 0;
}

/* "1d", "6h" */
static void interval_text(char out[32], int64_t s)
{
	if (s % 86400 == 0)
		snprintf(out, 32, "%" PRId64 "d", s / 86400);
	else
		snprintf(out, 32, "%" PRId64 "h", s / 3600);
}

/* "max 10m", "max 1500ms", "" */
static void batch_text(char out[48], const struct mg_job *j)
{
	int64_t ms = j->job.batch_max_ms;

	if (!j->job.batch)
		snprintf(out, 48, "-");
	else if (ms == 0)
		snprintf(out, 48, "yes");
	else if (ms % 3600000 == 0)
		snprintf(out, 48, "max %" PRId64 "h", ms / 3600000);
	else if (ms % 60000 == 0)
		snprintf(out, 48, "max %" PRId64 "m", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(out, 48, "max %" PRId64 "s", ms / 1000);
	else
		snprintf(out, 48, "max %" PRId64 "ms", ms);
}

static void iso_time(char out[32], int64_t s)
{
	time_t t = (time_t)s;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "?");
}

static void list_json(const struct mg_job *j, const struct mg_job_last *l,
                      bool due, int64_t next)
{
	struct mg_buf b = MG_BUF_INIT;
	struct mg_json w;
	char text[48];

	mg_json_init(&w, &b);
	mg_json_object_begin(&w, NULL);
	mg_json_string(&w, "job", j->m.name);
	mg_json_string(&w, "file", j->m.up.path);
	mg_json_string(&w, "checksum", j->m.up.checksum);
	if (j->job.every_s > 0) {
		interval_text(text, j->job.every_s);
		mg_json_string(&w, "every", text);
		mg_json_int(&w, "every_s", j->job.every_s);
	} else {
		mg_json_null(&w, "every");
		mg_json_null(&w, "every_s");
	}
	mg_json_bool(&w, "batch", j->job.batch);
	if (j->job.batch_max_ms > 0)
		mg_json_int(&w, "batch_max_ms", j->job.batch_max_ms);
	else
		mg_json_null(&w, "batch_max_ms");
	if (l->ran) {
		mg_json_object_begin(&w, "last_run");
		mg_json_string(&w, "started_at", l->started_at);
		mg_json_string(&w, "finished_at", l->finished_at);
		mg_json_string(&w, "status", l->status);
		mg_json_int(&w, "batches", (int64_t)l->batches);
		mg_json_int(&w, "rows", l->rows);
		mg_json_int(&w, "duration_ms", l->duration_ms);
		mg_json_end(&w);
	} else {
		mg_json_null(&w, "last_run");
	}
	mg_json_string(&w, "last_ok_at", l->ok_ever ? l->last_ok_at : NULL);
	mg_json_bool(&w, "due", due);
	if (next > 0) {
		iso_time(text, next);
		mg_json_string(&w, "next_due_at", text);
	} else {
		mg_json_null(&w, "next_due_at");
	}
	mg_json_end(&w);
	print_json_line(&b);
}

static void list_text(const struct mg_job *j, const struct mg_job_last *l,
                      bool due, int64_t next, int width)
{
	char every[32], batch[48], when[32], rows[32], ms[32], duetext[48];

	if (j->job.every_s > 0)
		interval_text(every, j->job.every_s);
	else
		snprintf(every, sizeof(every), "-");
	batch_text(batch, j);
	snprintf(rows, sizeof(rows), "%" PRId64, l->rows);
	snprintf(ms, sizeof(ms), "%" PRId64, l->duration_ms);
	if (due) {
		snprintf(duetext, sizeof(duetext), "yes");
	} else if (next < 0) {
		snprintf(duetext, sizeof(duetext), "never (run by name)");
	} else {
		iso_time(when, next);
		snprintf(duetext, sizeof(duetext), "no (at %s)", when);
	}
	printf("%-*s %-6s %-10s %-27s %s%-11s%s %7zu %9s %8s  %s\n", width,
	       j->m.name, every, batch, l->ran ? l->started_at : "never",
	       colour_on(stdout, l->status), l->ran ? l->status : "-",
	       colour_off(stdout, l->status), l->batches, l->ran ? rows : "-",
	       l->ran ? ms : "-", duetext);
}

static int job_list(const struct opts *o)
{
	struct mg_jobs *jobs = NULL;
	struct mg_conn *conn = NULL;
	struct mg_error err = { 0 };
	int64_t now = (int64_t)time(NULL), next;
	int code, width = 4;
	size_t i;

	if (o->nargs > 1)
		return usage_error(o, "unexpected argument '%s'", o->args[1]);
	if (o->due || o->dry_run || o->reason || o->preview)
		return usage_error(o, "job list takes no --due, --dry-run, "
		                      "--preview or --reason");
	if ((code = open_jobs(&jobs, o)) != 0 ||
	    (code = open_db(&conn, o, MG_CONNECT_READ_ONLY)) != 0)
		goto cleanup;
	for (i = 0; i < jobs->n; i++)
		if ((int)strlen(jobs->v[i].m.name) > width)
			width = (int)strlen(jobs->v[i].m.name);
	if (!o->json)
		printf("%-*s %-6s %-10s %-27s %-11s %7s %9s %8s  %s\n", width,
		       "JOB", "EVERY", "BATCH", "LAST RUN", "STATUS", "BATCHES",
		       "ROWS", "MS", "DUE");
	/* no lock: a read-only look may run beside a job */
	for (i = 0; i < jobs->n; i++) {
		const struct mg_job *j = &jobs->v[i];
		struct mg_job_last last;
		bool due;

		if (mg_job_last_run(&last, conn, o->table, j->m.name, &err) <
		    0) {
			code = report(o, &err);
			goto cleanup;
		}
		due = mg_job_due(j, &last, now, &next);
		if (o->json)
			list_json(j, &last, due, next);
		else
			list_text(j, &last, due, next, width);
	}
	code = EXIT_OK;
cleanup:
	close_db(conn);
	mg_jobs_free(jobs);
	return code;
}

struct run_ctx {
	const struct opts *o;
	const struct mg_job *job;
};

/* The error as one JSON string, "FILE:LINE: message", scrubbed. */
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
	const struct mg_directives *d = &ev->m->up.dir;
	struct mg_buf b = MG_BUF_INIT;
	size_t i;

	for (i = 0; i < d->nchecks; i++) {
		mg_buf_truncate(&b, 0);
		if (ev->checks != NULL)
			mg_checks_describe(ev->checks, i, &b);
		else
			mg_buf_add(&b, d->checks[i].text);
		fprintf(out, "  %s\n", mg_buf_cstr(&b));
	}
	mg_buf_dispose(&b);
}

static void on_event(void *arg, const struct mg_event *ev)
{
	const struct run_ctx *ctx = arg;
	const struct opts *o = ctx->o;
	struct mg_buf b = MG_BUF_INIT;
	struct mg_json w;

	/* --json: stdout carries the JSON lines, stderr only errors
	 * (SPEC.md, "JSON output") */
	if (ev->dry_run && !o->json) {
		FILE *out = stdout;
		char batch[48], every[32];

		batch_text(batch, ctx->job);
		if (ctx->job->job.every_s > 0)
			interval_text(every, ctx->job->job.every_s);
		else
			snprintf(every, sizeof(every), "-");
		fprintf(out,
		        "would run job %s (%s)\n  checksum %s%s\n  every %s, "
		        "batch %s\n",
		        ev->m->name, ev->file, ev->checksum,
		        ev->no_transaction ? ", outside a transaction" : "",
		        every, batch);
		print_checks(out, ev);
		print_backup_evidence(out, ev->checks_json); /* backups */
		if (ev->err != NULL) {
			char text[sizeof(ev->err->msg)];

			snprintf(text, sizeof(text), "%s", ev->err->msg);
			scrub_secrets(o, text, sizeof(text));
			fprintf(out, "  checks not evaluated yet: %s\n", text);
		}
	} else if (ev->dry_run) {
		; /* its JSON line below */
	} else if (ev->not_rehearsed) {
		say(o, "job %s: not rehearsed: -- migrate:no-transaction, it "
		       "cannot be rolled back\n",
		    ev->m->name);
	} else {
		const char *word = mg_outcome_name(ev->status);

		/* a progress line per batch */
		say(o,
		    "job %s: %sbatch %zu: %s%s%s, %" PRId64 " row%s (%lld "
		    "ms)\n",
		    ev->m->name, ev->preview ? "rehearsed " : "", ev->batch,
		    colour_on(stderr, word), word, colour_off(stderr, word),
		    ev->rows, ev->rows == 1 ? "" : "s",
		    (long long)ev->duration_ms);
		if (!o->quiet && !o->json) {
			print_checks(stderr, ev);
			print_backup_evidence(stderr, ev->checks_json);
			/* the per-statement evidence, as up prints it */
			if (ev->evidence != NULL)
				print_statements(stderr, o->verbose,
				                 ev->evidence);
		}
	}
	if (!o->json)
		return;
	mg_json_init(&w, &b);
	mg_json_object_begin(&w, NULL);
	mg_json_string(&w, "event", "job");
	mg_json_string(&w, "job", ev->m->name);
	mg_json_string(&w, "direction", mg_direction_name(ev->direction));
	if (!ev->dry_run) {
		mg_json_int(&w, "batch", (int64_t)ev->batch);
		mg_json_int(&w, "rows", ev->rows);
	}
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
		               "no-transaction: it cannot be rolled back");
	if (ev->err != NULL && !ev->dry_run) {
		json_error(&w, o, ev->err);
		if (ev->err->sqlstate[0])
			mg_json_string(&w, "sqlstate", ev->err->sqlstate);
	}
	mg_json_end(&w);
	print_json_line(&b);
}

/* The jobs a run takes, in order: the named ones (each once), or with
 * --due every job that has job:every. NULL entries end the list. */
static int pick(const struct mg_job ***out, const struct opts *o,
                const struct mg_jobs *jobs)
{
	const struct mg_job **v;
	size_t n = 0, i, k;

	*out = NULL;
	if ((v = calloc(jobs->n + (size_t)o->nargs + 1, sizeof(*v))) == NULL)
		return usage_error(o, "out of memory");
	if (o->due) {
		for (i = 0; i < jobs->n; i++)
			if (jobs->v[i].job.every_s > 0)
				v[n++] = &jobs->v[i];
	}
	for (i = 1; i < (size_t)o->nargs; i++) {
		const struct mg_job *j = mg_jobs_find(jobs, o->args[i]);

		if (j == NULL) {
			free(v);
			return usage_error(o, "no job '%s' in '%s'", o->args[i],
			                   jobs->dir);
		}
		for (k = 0; k < n && v[k] != j; k++)
			;
		if (k == n)
			v[n++] = j;
	}
	*out = v;
	return 0;
}

/* What the summary and the exit code say after every job ran. */
struct totals {
	size_t jobs, batches;
	int64_t rows;
	bool time_limit;       /* a job stopped at its time limit */
	int code;              /* the first failure's exit code */
	struct mg_error first; /* and its error */
};

/* One job: run, then its closing line; errors reported, not returned. */
static void run_one(struct totals *t, struct session *s, const struct opts *o,
                    const struct mg_job *j, int64_t now)
{
	struct run_ctx ctx = { o, j };
	struct mg_job_report rep;
	struct mg_error err = { 0 };
	struct opts plain = *o;
	unsigned flags = (o->dry_run ? MG_JOB_DRY_RUN : 0) |
	                 (o->due ? MG_JOB_IF_DUE : 0) |
	                 (o->preview ? MG_JOB_PREVIEW : 0);
	int rc;

	s->r.on_event = on_event;
	s->r.ctx = &ctx;
	rc = mg_job_run(&rep, &s->r, j, flags, now, &err);
	t->batches += rep.batches;
	t->rows += rep.rows;
	if (rc < 0) {
		/* on stderr now; the JSON summary at the end carries it */
		plain.json = false;
		if (t->code == 0) {
			t->code = report(&plain, &err);
			t->first = err;
		} else {
			report(&plain, &err);
		}
		return;
	}
	if (o->dry_run)
		return;
	t->jobs += !rep.not_due;
	if (o->preview) {
		if (!rep.not_due)
			say(o, "job %s: rehearsed %s, rolled back: nothing "
			       "was kept\n",
			    j->m.name, j->job.batch ? "its first batch only"
			                            : "its batch");
		return;
	}
	t->time_limit |= rep.time_limit;
	if (rep.not_due)
		say(o, "job %s: no longer due (another run did it)\n",
		    j->m.name);
	else if (rep.time_limit)
		say(o,
		    "job %s: stopped at the time limit, %zu batch%s, %" PRId64
		    " row%s; run again to continue\n",
		    j->m.name, rep.batches, rep.batches == 1 ? "" : "es",
		    rep.rows, rep.rows == 1 ? "" : "s");
	else
		say(o, "job %s: done, %zu batch%s, %" PRId64 " row%s\n",
		    j->m.name, rep.batches, rep.batches == 1 ? "" : "es",
		    rep.rows, rep.rows == 1 ? "" : "s");
}

static int job_run(const struct opts *o)
{
	const struct mg_job **picked = NULL;
	struct mg_jobs *jobs = NULL;
	struct session s = { 0 };
	struct totals t = { 0 };
	int64_t now = (int64_t)time(NULL);
	bool have_key;
	int code;
	size_t i;

	if (o->due == (o->nargs > 1))
		return usage_error(o, "job run takes job names or --due");
	if (o->preview && o->dry_run)
		return usage_error(o, "give --dry-run or --preview, not both: "
		                      "a preview runs the first batch and rolls "
		                      "it back, a dry run runs nothing");
	if ((code = open_jobs(&jobs, o)) != 0 ||
	    (code = pick(&picked, o, jobs)) != 0 ||
	    (code = load_signing_key(s.key, &have_key, o)) != 0 ||
	    (code = open_db(&s.conn, o,
	                    o->dry_run ? MG_CONNECT_READ_ONLY : 0)) != 0)
		goto cleanup;
	s.r.conn = s.conn;
	s.r.table = o->table;
	s.r.os_user = os_user();
	s.r.host = host_name();
	s.r.sign_key = have_key ? s.key : NULL;
	s.r.lock_timeout_s = (int)o->lock_timeout;
	s.r.reason = o->reason;
	/* every job, each under its own lock; one that fails does not stop
	 * the others (cron runs them all with --due) */
	for (i = 0; picked[i] != NULL; i++) {
		struct mg_job_last last;
		struct mg_error err = { 0 };

		if (o->due) {
			if (mg_job_last_run(&last, s.conn, o->table,
			                    picked[i]->m.name, &err) < 0) {
				code = report(o, &err);
				goto cleanup;
			}
			if (!mg_job_due(picked[i], &last, now, NULL))
				continue;
		}
		run_one(&t, &s, o, picked[i], now);
	}
	if (o->preview)
		say(o, "preview: %zu job%s rehearsed, nothing kept\n", t.jobs,
		    t.jobs == 1 ? "" : "s");
	else if (!o->dry_run)
		say(o, "%zu job%s ran: %zu batch%s, %" PRId64 " row%s\n",
		    t.jobs, t.jobs == 1 ? "" : "s", t.batches,
		    t.batches == 1 ? "" : "es", t.rows, t.rows == 1 ? "" : "s");
	if (o->json) {
		struct mg_buf b = MG_BUF_INIT;
		struct mg_json w;

		summary_begin(&w, &b, o, t.code ? "error" : "ok", t.code);
		mg_json_int(&w, "jobs", (int64_t)t.jobs);
		mg_json_int(&w, "batches", (int64_t)t.batches);
		mg_json_int(&w, "rows", t.rows);
		mg_json_bool(&w, "stopped_at_time_limit", t.time_limit);
		if (o->preview)
			mg_json_bool(&w, "preview", true);
		if (t.code != 0)
			json_error(&w, o, &t.first);
		mg_json_end(&w);
		print_json_line(&b);
	}
	code = t.code;
cleanup:
	free(picked);
	sodium_memzero(s.key, sizeof(s.key));
	close_db(s.conn);
	mg_jobs_free(jobs);
	return code;
}

int cmd_job(const struct opts *o)
{
	if (o->nargs == 0)
		return usage_error(o, "job needs 'list' or 'run'");
	if (strcmp(o->args[0], "list") == 0)
		return job_list(o);
	if (strcmp(o->args[0], "run") == 0)
		return job_run(o);
	return usage_error(o, "unknown job command '%s': expected list or run",
	                   o->args[0]);
}
