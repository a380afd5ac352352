/* migrate plan, and up --plan FILE's comparison (issue 10). */
#include "cmd/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checks/check.h"
#include "checks/directive.h"
#include "cmd/cmd.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/drivers/url.h"
#include "migrator/json.h"
#include "migrator/preview.h"
#include "migrator/runner.h"
#include "migrator/source.h"

/* The fence line that starts the machine-readable part of a Markdown
 * plan; `up --plan` looks for it. */
#define PLAN_FENCE "```json migrate-plan\n"
/* A plan file is small; anything bigger is not one. */
#define PLAN_MAX_BYTES ((size_t)64 << 20)

static char *dup_or_null(const char *s, bool *failed)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*failed = true;
	return d;
}

static struct plan_file *find_file(struct plan_doc *d, const char *path)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->v[i].file, path) == 0)
			return &d->v[i];
	return NULL;
}

/* One line a check, as `up` prints it. */
static char *check_line(const struct mg_event *ev, size_t i, bool *failed)
{
	struct mg_buf b = MG_BUF_INIT;
	char *s;

	mg_checks_describe(ev->checks, i, &b);
	s = b.failed ? NULL : mg_buf_detach(&b);
	mg_buf_dispose(&b);
	if (s == NULL)
		*failed = true;
	return s;
}

/* The dry run's backup items (checks/backup.c): table and rows. */
static void add_backups(struct plan_doc *d, struct plan_file *p,
                        const struct mg_event *ev)
{
	struct mg_json_value *v = NULL;
	size_t i, n;

	if (ev->checks_json == NULL ||
	    strstr(ev->checks_json, "\"backup\"") == NULL)
		return;
	if (mg_json_parse(&v, ev->checks_json, NULL) < 0) {
		d->failed = true;
		return;
	}
	n = mg_json_array_size(v);
	if ((p->backups = calloc(n, sizeof(*p->backups))) == NULL) {
		d->failed |= n > 0;
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		const struct mg_json_value *it = mg_json_array_get(v, i);
		const char *kind = mg_json_object_string(it, "kind");
		struct plan_backup *b = &p->backups[p->nbackups];

		if (kind == NULL || strcmp(kind, "backup") != 0)
			continue;
		b->table = dup_or_null(mg_json_object_string(it, "table"),
		                       &d->failed);
		if (!mg_json_object_int(it, "rows", &b->rows))
			b->rows = -1;
		if (!mg_json_object_int(it, "bytes", &b->bytes))
			b->bytes = -1;
		p->nbackups++;
	}
cleanup:
	mg_json_value_free(v);
}

static void add_dry_run(struct plan_doc *d, const struct mg_event *ev)
{
	const struct mg_file *f = &ev->m->up;
	struct plan_file *p, *v;
	size_t i;

	if ((v = realloc(d->v, (d->n + 1) * sizeof(*v))) == NULL) {
		d->failed = true;
		return;
	}
	d->v = v;
	p = &d->v[d->n++];
	memset(p, 0, sizeof(*p));
	p->version = ev->m->version;
	p->name = dup_or_null(ev->m->name, &d->failed);
	p->file = dup_or_null(ev->file, &d->failed);
	p->checksum = dup_or_null(ev->checksum, &d->failed);
	p->sql = f->text;
	p->no_txn = ev->no_transaction;
	if (ev->err != NULL)
		p->not_evaluated = dup_or_null(ev->err->msg, &d->failed);
	add_backups(d, p, ev);
	if (f->dir.nchecks == 0 ||
	    (p->checks = calloc(f->dir.nchecks, sizeof(*p->checks))) == NULL) {
		d->failed |= f->dir.nchecks > 0;
		return;
	}
	p->nchecks = f->dir.nchecks;
	for (i = 0; i < p->nchecks; i++) {
		const struct mg_check *c = &f->dir.checks[i];
		struct plan_check *pc = &p->checks[i];

		pc->text = dup_or_null(c->text, &d->failed);
		pc->line = c->line;
		pc->record = c->kind == MG_CHECK_RECORD;
		if (ev->checks == NULL)
			continue;
		pc->before = dup_or_null(ev->checks->r[i].before, &d->failed);
		pc->line_text = check_line(ev, i, &d->failed);
	}
}

static void add_rehearsal(struct plan_doc *d, const struct mg_event *ev)
{
	struct plan_file *p = find_file(d, ev->file);
	size_t i, n;

	if (p == NULL)
		return; /* the dry run did not plan it: nothing to attach to */
	p->rehearsed = !ev->not_rehearsed;
	p->not_rehearsed = ev->not_rehearsed;
	p->status = mg_outcome_name(ev->status);
	p->ms = ev->duration_ms;
	if (ev->evidence != NULL)
		p->ev = *ev->evidence;
	if (ev->err != NULL) {
		char where[sizeof(ev->err->path) + 16];
		char text[sizeof(where) + sizeof(ev->err->msg)];

		mg_error_where(where, sizeof(where), ev->err);
		snprintf(text, sizeof(text), "%s%s", where, ev->err->msg);
		p->error = dup_or_null(text, &d->failed);
	}
	n = ev->checks != NULL && ev->checks->dir != NULL
	            ? ev->checks->dir->nchecks
	            : 0;
	if (n == 0 ||
	    (p->rehearsal_checks = calloc(n, sizeof(char *))) == NULL) {
		d->failed |= n > 0;
		return;
	}
	p->nrehearsal_checks = n;
	for (i = 0; i < n; i++)
		p->rehearsal_checks[i] = check_line(ev, i, &d->failed);
}

void plan_collect(void *ctx, const struct mg_event *ev)
{
	struct plan_doc *d = ctx;

	if (ev->direction != MG_DIR_UP)
		return;
	if (ev->dry_run)
		add_dry_run(d, ev);
	else if (ev->preview)
		add_rehearsal(d, ev);
}

void plan_doc_dispose(struct plan_doc *d)
{
	size_t i, j;

	for (i = 0; i < d->n; i++) {
		struct plan_file *p = &d->v[i];

		free(p->name);
		free(p->file);
		free(p->checksum);
		for (j = 0; j < p->nchecks; j++) {
			free(p->checks[j].text);
			free(p->checks[j].before);
			free(p->checks[j].line_text);
		}
		free(p->checks);
		for (j = 0; j < p->nbackups; j++)
			free(p->backups[j].table);
		free(p->backups);
		free(p->not_evaluated);
		for (j = 0; j < p->nrehearsal_checks; j++)
			free(p->rehearsal_checks[j]);
		free(p->rehearsal_checks);
		free(p->error);
	}
	free(d->v);
	free(d->target);
	memset(d, 0, sizeof(*d));
}

static void statements_json(struct mg_json *w, const struct mg_evidence *ev)
{
	mg_json_array_begin(w, "statements");
	mg_evidence_json(ev, w);
	mg_json_end(w);
}

static void now_text(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void render_json(struct mg_buf *out, const struct plan_doc *d,
                        const struct opts *o)
{
	struct mg_json w;
	char now[32];
	size_t i, j;

	now_text(now);
	mg_json_init(&w, out);
	mg_json_object_begin(&w, NULL);
	mg_json_int(&w, "migrate_plan", 1);
	mg_json_string(&w, "created_at", now);
	mg_json_string(&w, "created_by", os_user());
	mg_json_string(&w, "host", host_name());
	mg_json_string(&w, "tool_version", "migrate " MG_VERSION);
	mg_json_object_begin(&w, "target");
	mg_json_string(&w, "driver", d->driver);
	mg_json_string(&w, "url", d->target);
	mg_json_string(&w, "ledger_table", d->table);
	mg_json_end(&w);
	if (o->to >= 0)
		mg_json_int(&w, "to", o->to);
	mg_json_bool(&w, "preview", d->preview);
	if (d->preview)
		mg_json_int(&w, "exit", d->exit_code);
	mg_json_array_begin(&w, "files");
	for (i = 0; i < d->n; i++) {
		const struct plan_file *p = &d->v[i];

		mg_json_object_begin(&w, NULL);
		mg_json_int(&w, "version", p->version);
		mg_json_string(&w, "name", p->name);
		mg_json_string(&w, "file", p->file);
		mg_json_string(&w, "checksum", p->checksum);
		mg_json_bool(&w, "no_transaction", p->no_txn);
		mg_json_array_begin(&w, "checks");
		for (j = 0; j < p->nchecks; j++) {
			mg_json_object_begin(&w, NULL);
			mg_json_string(&w, "check", p->checks[j].text);
			mg_json_int(&w, "line", p->checks[j].line);
			mg_json_string(&w, "before", p->checks[j].before);
			mg_json_end(&w);
		}
		mg_json_end(&w);
		mg_json_array_begin(&w, "backups");
		for (j = 0; j < p->nbackups; j++) {
			mg_json_object_begin(&w, NULL);
			mg_json_string(&w, "table", p->backups[j].table);
			if (p->backups[j].rows >= 0)
				mg_json_int(&w, "rows", p->backups[j].rows);
			if (p->backups[j].bytes >= 0)
				mg_json_int(&w, "bytes", p->backups[j].bytes);
			mg_json_end(&w);
		}
		mg_json_end(&w);
		if (p->not_evaluated != NULL)
			mg_json_string(&w, "not_evaluated", p->not_evaluated);
		mg_json_string(&w, "sql", p->sql);
		if (d->preview) {
			mg_json_object_begin(&w, "rehearsal");
			mg_json_bool(&w, "rehearsed", p->rehearsed);
			if (p->not_rehearsed)
				mg_json_string(&w, "reason",
				               "-- migrate:no-transaction: it "
				               "cannot be rolled back");
			mg_json_string(&w, "status", p->status);
			mg_json_int(&w, "duration_ms", p->ms);
			statements_json(&w, &p->ev);
			mg_json_array_begin(&w, "checks");
			for (j = 0; j < p->nrehearsal_checks; j++)
				mg_json_string(&w, NULL,
				               p->rehearsal_checks[j]);
			mg_json_end(&w);
			mg_json_string(&w, "error", p->error);
			mg_json_end(&w);
		}
		mg_json_end(&w);
	}
	mg_json_end(&w);
	mg_json_end(&w);
}

void plan_render_json(struct mg_buf *out, const struct plan_doc *d,
                      const struct opts *o)
{
	render_json(out, d, o);
	mg_buf_add(out, "\n");
}

/* A fence longer than any run of backticks in text, so SQL holding
 * ``` cannot end the block early. */
static int fence_len(const char *text)
{
	int run = 0, best = 2;

	for (; *text; text++) {
		run = *text == '`' ? run + 1 : 0;
		if (run > best)
			best = run;
	}
	return best + 1;
}

/* Markdown-safe inline code: backticks in it would end the span. */
static void md_code(struct mg_buf *out, const char *s)
{
	int n = fence_len(s) - 2;

	mg_buf_addf(out, "%.*s %s %.*s", n, "``````````", s, n,
	            "``````````");
}

static void md_statements(struct mg_buf *out, const struct mg_evidence *ev)
{
	size_t i;

	if (ev->n == 0)
		return;
	mg_buf_add(out, "\n| line | statement | rows | ms |\n"
	                "|---:|---|---:|---:|\n");
	for (i = 0; i < ev->n; i++) {
		const struct mg_stmt_rec *r = &ev->v[i];

		mg_buf_addf(out, "| %u | %s | ", r->line, r->tag);
		if (r->rows >= 0)
			mg_buf_addf(out, "%lld", (long long)r->rows);
		else
			mg_buf_add(out, "-");
		mg_buf_addf(out, " | %lld |\n", (long long)r->ms);
	}
	if (ev->total > ev->n)
		mg_buf_addf(out,
		            "\n%zu more statements not shown (%zu in all, "
		            "%lld rows, %lld ms)\n",
		            ev->total - ev->n, ev->total, (long long)ev->rows,
		            (long long)ev->ms);
}

void plan_render_md(struct mg_buf *out, const struct plan_doc *d,
                    const struct opts *o)
{
	char now[32];
	size_t i, j;
	int f;

	now_text(now);
	mg_buf_add(out, "# Migration plan\n\n");
	mg_buf_addf(out, "- Target: ");
	md_code(out, d->target);
	mg_buf_addf(out, " (%s), ledger table ", d->driver);
	md_code(out, d->table);
	mg_buf_addf(out, "\n- Made: %s by %s on %s with migrate %s\n", now,
	            os_user() ? os_user() : "?",
	            host_name() ? host_name() : "?", MG_VERSION);
	mg_buf_addf(out, "- Pending: %zu file%s%s\n", d->n,
	            d->n == 1 ? "" : "s",
	            o->to >= 0 ? " (up to the --to version)" : "");
	if (d->preview)
		mg_buf_addf(out,
		            "- Rehearsal: every file ran in one transaction "
		            "that was rolled back; it took the same locks as "
		            "the real run will. A real run would exit %d.\n",
		            d->exit_code);
	mg_buf_add(out, "\nApprove it by running `migrate up --plan FILE` "
	                "with this file: it refuses to run if a file or a "
	                "check's before value changed since.\n");
	for (i = 0; i < d->n; i++) {
		const struct plan_file *p = &d->v[i];

		mg_buf_addf(out, "\n## %zu. ", i + 1);
		md_code(out, p->file);
		mg_buf_add(out, "\n\n- Checksum: ");
		md_code(out, p->checksum);
		mg_buf_addf(out, "\n- Runs %s\n",
		            p->no_txn ? "outside a transaction: a failure can "
		                        "leave it half-done"
		                      : "inside a transaction with its checks");
		if (p->not_evaluated != NULL)
			mg_buf_addf(out,
			            "- Checks not evaluated yet (an earlier file "
			            "makes what they read): %s\n",
			            p->not_evaluated);
		for (j = 0; j < p->nchecks; j++) {
			mg_buf_addf(out, "- Line %u: ", p->checks[j].line);
			md_code(out, p->checks[j].text);
			if (p->checks[j].record &&
			    p->checks[j].line_text != NULL) {
				mg_buf_add(out, " now ");
				md_code(out, p->checks[j].line_text);
			} else if (p->checks[j].before != NULL) {
				mg_buf_add(out, " before value ");
				md_code(out, p->checks[j].before);
			} else {
				mg_buf_add(out, " (read after the file runs)");
			}
			mg_buf_add(out, "\n");
		}
		for (j = 0; j < p->nbackups; j++) {
			char size[32];

			mg_buf_add(out, "- Backup of ");
			md_code(out, p->backups[j].table);
			format_bytes(size, sizeof(size),
			             p->backups[j].bytes);
			if (p->backups[j].rows >= 0)
				mg_buf_addf(out,
				            ": would save %lld row%s%s%s%s now\n",
				            (long long)p->backups[j].rows,
				            p->backups[j].rows == 1 ? "" : "s",
				            size[0] ? " (" : "", size,
				            size[0] ? ")" : "");
			else
				mg_buf_add(out, "\n");
		}
		f = fence_len(p->sql);
		mg_buf_addf(out, "\n%.*ssql\n%s%s%.*s\n", f, "``````````",
		            p->sql,
		            p->sql[0] && p->sql[strlen(p->sql) - 1] != '\n'
		                    ? "\n"
		                    : "",
		            f, "``````````");
		if (!d->preview)
			continue;
		if (p->not_rehearsed) {
			mg_buf_add(out, "\nNot rehearsed: "
			                "`-- migrate:no-transaction`, it cannot "
			                "be rolled back.\n");
			continue;
		}
		if (!p->rehearsed) {
			mg_buf_add(out, "\nNot rehearsed: an earlier file "
			                "stopped the rehearsal.\n");
			continue;
		}
		mg_buf_addf(out, "\nRehearsal: **%s** in %lld ms\n", p->status,
		            (long long)p->ms);
		md_statements(out, &p->ev);
		for (j = 0; j < p->nrehearsal_checks; j++) {
			mg_buf_add(out, j == 0 ? "\n" : "");
			mg_buf_add(out, "- ");
			md_code(out, p->rehearsal_checks[j]
			                     ? p->rehearsal_checks[j]
			                     : "?");
			mg_buf_add(out, "\n");
		}
		if (p->error != NULL) {
			mg_buf_add(out, "\nError: ");
			md_code(out, p->error);
			mg_buf_add(out, "\n");
		}
	}
	mg_buf_add(out, "\n## Machine-readable plan\n\n"
	                "`migrate up --plan` reads the block below; any "
	                "change to it makes the plan another one.\n\n");
	mg_buf_add(out, PLAN_FENCE);
	render_json(out, d, o);
	mg_buf_add(out, "\n```\n");
}

/* The JSON of a plan file: all of it, or the block of a Markdown plan. */
static int plan_json(struct mg_buf *json, const struct mg_buf *file,
                     const char *path, struct mg_error *err)
{
	const char *p = mg_buf_cstr(file), *start, *end;

	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	if (*p == '{') {
		mg_buf_add(json, p);
		return mg_buf_check(json, err);
	}
	if ((start = strstr(p, PLAN_FENCE)) == NULL &&
	    strncmp(p, "# Migration plan", 16) == 0)
		return mg_error_set(err, MG_EINVALID,
		                    "'%s' is truncated: a Markdown plan without "
		                    "its machine-readable block",
		                    path);
	if (start == NULL)
		return mg_error_set(err, MG_EINVALID,
		                    "'%s' is not a plan: no JSON and no "
		                    "'```json migrate-plan' block (make one "
		                    "with 'migrate plan --out FILE')",
		                    path);
	start += strlen(PLAN_FENCE);
	if ((end = strstr(start, "\n```")) == NULL)
		return mg_error_set(err, MG_EINVALID,
		                    "'%s' is truncated: its plan block does "
		                    "not end",
		                    path);
	mg_buf_addn(json, start, (size_t)(end - start));
	return mg_buf_check(json, err);
}

static bool same_text(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Appends one difference as a line of b: "FILE: what". */
static void differ(struct mg_buf *b, size_t *n, const char *file,
                   const char *what, const char *x, const char *y)
{
	if (*n > 0)
		mg_buf_add(b, "\n");
	mg_buf_addf(b, "%s: %s", file, what);
	if (x != NULL)
		mg_buf_addf(b, " '%s'", x);
	if (y != NULL)
		mg_buf_addf(b, ": %s", y);
	(*n)++;
}

static void compare_checks(struct mg_buf *b, size_t *n,
                           const struct mg_json_value *jf,
                           const struct plan_file *p)
{
	const struct mg_json_value *jc = mg_json_object_get(jf, "checks");
	size_t j, k;

	for (j = 0; j < p->nchecks; j++) {
		const struct plan_check *c = &p->checks[j];
		const struct mg_json_value *found = NULL;

		if (c->record)
			continue; /* evidence, not a promise */
		for (k = 0; k < mg_json_array_size(jc); k++)
			if (same_text(mg_json_object_string(
			                      mg_json_array_get(jc, k), "check"),
			              c->text))
				found = mg_json_array_get(jc, k);
		if (found == NULL)
			differ(b, n, p->file, "check not in the plan", c->text,
			       NULL);
		else if (!same_text(mg_json_object_string(found, "before"),
		                    c->before)) {
			const char *was = mg_json_object_string(found, "before");

			differ(b, n, p->file, "check", c->text,
			       "its before value changed since the plan");
			mg_buf_addf(b, " (%s in the plan, %s now)",
			            was ? was : "none",
			            c->before ? c->before : "none");
		}
	}
	for (k = 0; k < mg_json_array_size(jc); k++) {
		const char *t = mg_json_object_string(mg_json_array_get(jc, k),
		                                      "check");
		bool there = false;

		for (j = 0; j < p->nchecks; j++)
			there |= same_text(t, p->checks[j].text);
		if (!there)
			differ(b, n, p->file, "the plan's check is gone",
			       t ? t : "?", NULL);
	}
}

static int compare(const struct mg_json_value *plan, const struct plan_doc *d,
                   const char *path, struct mg_error *err)
{
	const struct mg_json_value *files = mg_json_object_get(plan, "files");
	struct mg_buf b = MG_BUF_INIT;
	size_t i, k, n = 0;
	int rc;

	for (i = 0; i < d->n; i++) {
		const struct plan_file *p = &d->v[i];
		const struct mg_json_value *jf = NULL;
		int64_t v;

		for (k = 0; k < mg_json_array_size(files); k++)
			if (mg_json_object_int(mg_json_array_get(files, k),
			                       "version", &v) &&
			    v == p->version)
				jf = mg_json_array_get(files, k);
		if (jf == NULL) {
			differ(&b, &n, p->file, "pending now, not in the plan",
			       NULL, NULL);
			continue;
		}
		if (!same_text(mg_json_object_string(jf, "checksum"),
		               p->checksum))
		{
			const char *was = mg_json_object_string(jf, "checksum");

			if (n > 0)
				mg_buf_add(&b, "\n");
			mg_buf_addf(&b,
			            "%s: changed since the plan (checksum %s "
			            "in the plan, %s now)",
			            p->file, was ? was : "none", p->checksum);
			n++;
		}
		else
			compare_checks(&b, &n, jf, p);
	}
	for (k = 0; k < mg_json_array_size(files); k++) {
		const struct mg_json_value *jf = mg_json_array_get(files, k);
		int64_t v = -1;
		bool pending = false;

		mg_json_object_int(jf, "version", &v);
		for (i = 0; i < d->n; i++)
			pending |= d->v[i].version == v;
		if (!pending) {
			const char *f = mg_json_object_string(jf, "file");

			differ(&b, &n, f ? f : "?",
			       "in the plan, not pending now", NULL, NULL);
		}
	}
	if ((rc = mg_buf_check(&b, err)) < 0)
		goto cleanup;
	if (n > 0) {
		rc = mg_error_set(err, MG_ECHECKSUM,
		                  "'%s' no longer matches: %zu difference%s, "
		                  "nothing ran",
		                  path, n, n == 1 ? "" : "s");
		mg_error_detail(err, "%s", mg_buf_cstr(&b));
		mg_error_hint(err, "make a new plan with 'migrate plan' and "
		                   "have it approved");
	}
cleanup:
	mg_buf_dispose(&b);
	return rc;
}

int plan_check_file(char hash[MG_HASH_HEX_LEN], const char *path,
                    const struct plan_doc *now, struct mg_error *err)
{
	struct mg_buf file = MG_BUF_INIT, json = MG_BUF_INIT;
	struct mg_json_value *plan = NULL;
	const char *url;
	int64_t version = 0;
	int rc;

	if ((rc = read_text_file(&file, path, PLAN_MAX_BYTES, err)) < 0)
		goto cleanup;
	mg_hash_hex(hash, file.ptr ? file.ptr : "", file.len);
	if ((rc = plan_json(&json, &file, path, err)) < 0)
		goto cleanup;
	if ((rc = mg_json_parse(&plan, mg_buf_cstr(&json), err)) < 0) {
		char why[sizeof(err->msg)];

		snprintf(why, sizeof(why), "%s", err->msg);
		rc = mg_error_set(err, MG_EINVALID,
		                  "'%s' is not a plan or is truncated: %s",
		                  path, why);
		goto cleanup;
	}
	if (!mg_json_object_int(plan, "migrate_plan", &version) ||
	    version != 1 || mg_json_object_get(plan, "files") == NULL ||
	    !mg_json_is_array(mg_json_object_get(plan, "files"))) {
		rc = mg_error_set(err, MG_EINVALID,
		                  "'%s' is not a plan of this migrate "
		                  "(no \"migrate_plan\": 1 with files)",
		                  path);
		goto cleanup;
	}
	url = mg_json_object_string(mg_json_object_get(plan, "target"), "url");
	if (!same_text(url, now->target)) {
		rc = mg_error_set(err, MG_EINVALID,
		                  "'%s' was made for another database",
		                  path);
		mg_error_detail(err, "the plan's target: %s\nthis run's: %s",
		                url ? url : "none", now->target);
		goto cleanup;
	}
	rc = compare(plan, now, path, err);
cleanup:
	mg_json_value_free(plan);
	mg_buf_dispose(&json);
	mg_buf_dispose(&file);
	return rc;
}

/* Writes the document to --out FILE (all or nothing) or stdout. */
static int write_doc(const struct opts *o, const struct mg_buf *b)
{
	struct mg_error err = { 0 };
	char tmp[4096];
	FILE *f;

	if (o->out == NULL) {
		fputs(mg_buf_cstr(b), stdout);
		fflush(stdout);
		return 0;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", o->out);
	if ((f = fopen(tmp, "wb")) == NULL ||
	    fwrite(b->ptr, 1, b->len, f) != b->len || fclose(f) != 0 ||
	    rename(tmp, o->out) != 0) {
		mg_error_set(&err, MG_ERR, "cannot write '%s'", o->out);
		remove(tmp);
		return report(o, &err);
	}
	return 0;
}

int cmd_plan(const struct opts *o)
{
	struct session s;
	struct opts ro = *o;
	struct plan_doc d = { 0 };
	struct mg_up_opts uo = { .to = o->to,
		                 .allow_out_of_order = o->allow_out_of_order };
	struct mg_error err = { 0 };
	struct mg_buf b = MG_BUF_INIT;
	bool json = o->json || (o->format && strcmp(o->format, "json") == 0);
	int code, rc;

	if (o->nargs > 0)
		return usage_error(o, "unexpected argument '%s'", o->args[0]);
	if (o->format && strcmp(o->format, "json") != 0 &&
	    strcmp(o->format, "md") != 0)
		return usage_error(o, "plan --format takes json or md, not "
		                      "'%s'",
		                   o->format);
	/* without --preview nothing may change: a read-only session */
	ro.dry_run = !o->preview;
	if ((code = session_open(&s, &ro)) != 0)
		goto cleanup;
	d.driver = s.conn->drv->name;
	d.table = o->table;
	d.preview = o->preview;
	if ((d.target = mg_url_redact(o->database)) == NULL) {
		code = report(o, &(struct mg_error){ .code = MG_ENOMEM,
		                                     .msg = "out of memory" });
		goto cleanup;
	}
	s.r.on_event = plan_collect;
	s.r.ctx = &d;
	if ((rc = mg_run_up(&s.r, &uo, true, &err)) == 0 && o->preview) {
		rc = mg_run_preview(&s.r, &uo, &err);
		d.exit_code = exit_code_for(rc);
		/* a failing rehearsal is the plan's finding, not an error */
		if (rc == MG_ECHECK || rc == MG_EDRIVER)
			rc = 0;
	}
	if (rc < 0) {
		code = report(o, &err);
		goto cleanup;
	}
	if (d.failed) {
		code = report(o, &(struct mg_error){ .code = MG_ENOMEM,
		                                     .msg = "out of memory" });
		goto cleanup;
	}
	if (json)
		plan_render_json(&b, &d, o);
	else
		plan_render_md(&b, &d, o);
	if (mg_buf_check(&b, &err) < 0) {
		code = report(o, &err);
		goto cleanup;
	}
	if ((code = write_doc(o, &b)) != 0)
		goto cleanup;
	if (o->out != NULL)
		say(o, "plan of %zu file%s written to %s\n", d.n,
		    d.n == 1 ? "" : "s", o->out);
	code = d.preview ? d.exit_code : EXIT_OK;
cleanup:
	mg_buf_dispose(&b);
	plan_doc_dispose(&d);
	session_close(&s);
	return code;
}
