#include "migrator/job.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/ledger.h"
#include "migrator/preview.h"
#include "migrator/runner.h"
#include "migrator/scan.h"

/* How far back `job list` looks for a job's last run and last ok event:
 * enough for a run of that many batches, bounded for a long history. */
#define HISTORY_ROWS 2000

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* Whether the file name is a job's: "<name>.sql". Sets *name_len. */
static bool job_name(const char *file, size_t *name_len)
{
	size_t len = strlen(file), i;

	if (len <= 4 || strcmp(file + len - 4, ".sql") != 0)
		return false;
	for (i = 0; i < len - 4; i++)
		if (!name_char(file[i]))
			return false;
	*name_len = len - 4;
	return true;
}

/* Reads one job file into j, noting what is wrong with it. 1 when a
 * problem was noted, 0 when fine, or an error code. */
static int add_job(struct mg_job *j, struct mg_problems *pr,
                   const struct mg_scan_file *sf, struct mg_error *err)
{
	struct mg_file *f = &j->m.up;
	const char *path = sf->path, *file = sf->name;
	struct mg_error derr = { 0 };
	int64_t version;
	const char *nul, *mname;
	size_t name_len, mlen;
	bool is_up;
	int rc;

	if (!job_name(file, &name_len)) {
		size_t len = strlen(file);

		if (strcasecmp(file + len - 4, ".sql") == 0 &&
		    strcmp(file + len - 4, ".sql") != 0)
			rc = mg_problem(pr,
			             "%s: not a job file name: the suffix is "
			             "'.sql', in lower case",
			             path);
		else
			rc = mg_problem(pr,
			             "%s: not a job file name: expected "
			             "<name>.sql (name: letters, digits, '_', "
			             "'-', '.')",
			             path);
		return rc < 0 ? rc : 1;
	}
	if (mg_source_parse_name(file, &version, &mname, &mlen, &is_up) == 0) {
		rc = mg_problem(pr,
		             "%s: a migration file in the jobs directory: "
		             "migrations go in the migrations directory",
		             path);
		return rc < 0 ? rc : 1;
	}
	if ((j->m.name = strndup(file, name_len)) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	rc = sf->fd < 0 ? mg_file_read(f, path, err)
	                : mg_file_read_fd(f, path, sf->fd, sf->size, err);
	if (rc < 0)
		return rc;
	/* a NUL ends the text that C and libpq see: the rest would be
	 * checksummed but never run */
	if ((nul = memchr(f->text, '\0', f->len)) != NULL) {
		rc = mg_problem(pr, "%s:%u: a NUL byte: a job is text", path,
		             mg_line_of(f->text, nul));
		return rc < 0 ? rc : 1;
	}
	rc = mg_directives_parse(&f->dir, f->text, f->len, &derr);
	if (rc == MG_EINVALID) {
		rc = mg_problem(pr, "%s:%u: %s", path, derr.line, derr.msg);
		return rc < 0 ? rc : 1;
	}
	if (rc < 0)
		return mg_error_set(err, rc, "%s", derr.msg);
	/* a job has no down file: its backups are restored with `migrate
	 * restore --job` */
	if (f->dir.nrestores > 0) {
		rc = mg_problem(pr,
		             "%s:%u: restore: is for down files: a job's "
		             "backups are restored with 'migrate restore --job "
		             "%.*s'",
		             path, f->dir.restores[0].line, (int)name_len,
		             file);
		return rc < 0 ? rc : 1;
	}
	if (f->dir.irreversible) {
		rc = mg_problem(pr,
		             "%s: migrate:irreversible is for migrations: a "
		             "job has no down file",
		             path);
		return rc < 0 ? rc : 1;
	}
	rc = mg_job_directives_parse(&j->job, f->text, f->len, &derr);
	if (rc == MG_EINVALID) {
		rc = mg_problem(pr, "%s:%u: %s", path, derr.line, derr.msg);
		return rc < 0 ? rc : 1;
	}
	return rc;
}

/* The jobs directory's name rule: each file is read into a new job. */
static int each_job(void *arg, const struct mg_scan_file *f,
                    struct mg_problems *pr, struct mg_error *err)
{
	struct mg_jobs *js = arg;
	struct mg_job *v;
	int rc;

	if ((v = realloc(js->v, (js->n + 1) * sizeof(*v))) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	js->v = v;
	memset(&v[js->n], 0, sizeof(v[js->n]));
	rc = add_job(&v[js->n], pr, f, err);
	js->n++; /* kept even when wrong: freed with the rest */
	return rc < 0 ? rc : 0;
}

int mg_jobs_load(struct mg_jobs **out, const char *dir,
                 struct mg_problems *problems, struct mg_error *err)
{
	struct mg_jobs *js = NULL;
	struct mg_scan scan = { "jobs", "a job", each_job, NULL };
	int rc;

	*out = NULL;
	if ((js = calloc(1, sizeof(*js))) == NULL ||
	    (js->dir = strdup(dir)) == NULL) {
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		goto cleanup;
	}
	scan.ctx = js;
	if ((rc = mg_scan_dir(dir, &scan, problems, err)) < 0)
		goto cleanup;
	if (problems->n > 0) {
		rc = mg_error_set(err, MG_EINVALID,
		                  "%zu invalid job file%s in '%s'", problems->n,
		                  problems->n == 1 ? "" : "s", dir);
		goto cleanup;
	}
	*out = js;
	js = NULL;
cleanup:
	mg_jobs_free(js);
	return rc;
}

void mg_jobs_free(struct mg_jobs *jobs)
{
	size_t i;

	if (jobs == NULL)
		return;
	for (i = 0; i < jobs->n; i++) {
		free(jobs->v[i].m.name);
		mg_file_dispose(&jobs->v[i].m.up);
	}
	free(jobs->v);
	free(jobs->dir);
	free(jobs);
}

const struct mg_job *mg_jobs_find(const struct mg_jobs *jobs, const char *name)
{
	size_t i;

	for (i = 0; i < jobs->n; i++)
		if (strcmp(jobs->v[i].m.name, name) == 0)
			return &jobs->v[i];
	return NULL;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm):
 * timegm() is not POSIX. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t mg_job_parse_time(const char *iso)
{
	int y, mo, d, h, mi, s, n = 0;

	if (iso == NULL ||
	    sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s,
	           &n) != 6 ||
	    n != 19 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || s > 60)
		return -1;
	return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

/* The batch and rows a job event's evidence records (job_evidence() of
 * runner.c): its statement item with a "batch". 0 when there is none (a
 * 'dirty' marker written before a batch ran outside a transaction). */
static size_t event_batch(const struct mg_ledger_row *row, int64_t *rows)
{
	json_t *a = NULL, *it;
	size_t i, batch = 0;

	*rows = 0;
	if (row->f[MG_LF_CHECKS] != NULL)
		a = json_loads(row->f[MG_LF_CHECKS], 0, NULL);
	json_array_foreach(a, i, it)
	{
		json_t *b = json_object_get(it, "batch");
		const char *kind =
		        json_string_value(json_object_get(it, "kind"));

		if (kind == NULL || strcmp(kind, "statement") != 0 ||
		    !json_is_integer(b))
			continue;
		batch = (size_t)json_integer_value(b);
		*rows = json_integer_value(json_object_get(it, "rows"));
	}
	json_decref(a);
	return batch;
}

static void copy(char *out, size_t size, const char *s)
{
	snprintf(out, size, "%s", s != NULL ? s : "");
}

int mg_job_last_run(struct mg_job_last *out, struct mg_conn *conn,
                    const char *table, const char *name, struct mg_error *err)
{
	struct mg_ledger_row *rows = NULL;
	size_t n = 0, i, batch = 0;
	bool in_run = true;
	int64_t r;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = mg_ledger_job_rows(&rows, &n, conn, table, name, HISTORY_ROWS,
	                             err)) < 0)
		return rc;
	/* newest first: the newest event says how the run ended; the run
	 * goes back to its batch 1 */
	for (i = 0; i < n; i++) {
		const struct mg_ledger_row *row = &rows[i];
		const char *status = row->f[MG_LF_STATUS];
		int64_t ms = 0;

		if (i == 0) {
			out->ran = true;
			copy(out->status, sizeof(out->status), status);
			copy(out->finished_at, sizeof(out->finished_at),
			     row->f[MG_LF_FINISHED_AT]);
			copy(out->started_at, sizeof(out->started_at),
			     row->f[MG_LF_STARTED_AT]);
		}
		if (!out->ok_ever && status != NULL &&
		    strcmp(status, "ok") == 0) {
			out->ok_ever = true;
			copy(out->last_ok_at, sizeof(out->last_ok_at),
			     row->f[MG_LF_STARTED_AT]);
			out->last_ok_s =
			        mg_job_parse_time(row->f[MG_LF_STARTED_AT]);
		}
		if (!in_run)
			continue;
		if ((batch = event_batch(row, &r)) == 0)
			continue; /* a marker: its outcome follows, or none */
		out->batches++;
		out->rows += r;
		if (row->f[MG_LF_DURATION_MS] != NULL)
			ms = strtoll(row->f[MG_LF_DURATION_MS], NULL, 10);
		out->duration_ms += ms;
		copy(out->started_at, sizeof(out->started_at),
		     row->f[MG_LF_STARTED_AT]);
		in_run = batch > 1;
	}
	for (i = 0; i < n; i++)
		mg_ledger_row_dispose(&rows[i]);
	free(rows);
	return 0;
}

bool mg_job_due(const struct mg_job *j, const struct mg_job_last *last,
                int64_t now_s, int64_t *next_s)
{
	int64_t next;

	if (j->job.every_s == 0) {
		if (next_s != NULL)
			*next_s = -1;
		return false;
	}
	next = last->ok_ever && last->last_ok_s >= 0
	               ? last->last_ok_s + j->job.every_s
	               : 0;
	if (next_s != NULL)
		*next_s = next <= now_s ? 0 : next;
	return next <= now_s;
}

/* The job's lock name and key: the ledger table qualified with its
 * schema, and the job's name. Not the run lock's: `up` and a job never
 * wait for each other. */
static void lock_name(char out[128], int64_t *key, const char *schema,
                      const char *table, const char *job)
{
	unsigned char h[8];
	char full[512];
	uint64_t k = 0;
	int i;

	if (schema != NULL && strchr(table, '.') == NULL)
		snprintf(full, sizeof(full), "%s.%s:%s", schema, table, job);
	else
		snprintf(full, sizeof(full), "%s:%s", table, job);
	crypto_generichash(h, sizeof(h), (const unsigned char *)full,
	                   strlen(full), NULL, 0);
	for (i = 0; i < 8; i++)
		k = k << 8 | h[i];
	*key = (int64_t)k;
	/* MySQL's lock names stop at 64 characters */
	if (strlen(full) <= 44)
		snprintf(out, 128, "migrate-job:%.44s", full);
	else
		snprintf(out, 128, "migrate-job:%016" PRIx64, k);
}

/* Watches the runner's events for the batch's rows, and passes them on. */
struct watch {
	void (*on_event)(void *ctx, const struct mg_event *ev);
	void *ctx;
	bool seen;
	int64_t rows, last_rows;
};

static void on_batch(void *arg, const struct mg_event *ev)
{
	struct watch *w = arg;

	w->seen = true;
	w->rows = ev->rows;
	w->last_rows = ev->last_rows;
	if (w->on_event != NULL)
		w->on_event(w->ctx, ev);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The job's lock still held before a next batch: MySQL's lock session,
 * say, may have been killed, and another run of the job started. */
static int still_locked(struct mg_runner *r, const struct mg_job *j,
                        const char *name, int64_t key, size_t batch,
                        struct mg_error *err)
{
	const struct mg_driver *drv = r->conn->drv;

	if (drv->job_lock != NULL || drv->lock_held == NULL ||
	    drv->lock_held(r->conn, name, key, err) == 0)
		return 0;
	mg_error_set(err, MG_ELOCKED,
	             "the lock of job '%s' was lost: its session ended or no "
	             "longer holds it",
	             j->m.name);
	mg_error_hint(err, "stopped before batch %zu; run the job again",
	              batch);
	return MG_ELOCKED;
}

/* The batches, with the job's lock held and the ledger read. */
static int batches(struct mg_job_report *out, struct mg_runner *r,
                   const struct mg_job *j, const char *name, int64_t key,
                   struct mg_error *err)
{
	struct watch w = { r->on_event, r->ctx, false, 0, 0 };
	int64_t start = now_ms();
	size_t batch;
	int rc = 0;

	r->on_event = on_batch;
	r->ctx = &w;
	for (batch = 1;; batch++) {
		/* at least one batch; then the time limit is checked before
		 * each, so that every batch that starts also finishes */
		if (batch > 1 && j->job.batch_max_ms > 0 &&
		    now_ms() - start >= j->job.batch_max_ms) {
			out->time_limit = true;
			break;
		}
		if (batch > 1 &&
		    (rc = still_locked(r, j, name, key, batch, err)) < 0)
			break;
		r->job_batch = batch;
		w.seen = false;
		rc = mg_runner_apply(r, &j->m, MG_DIR_JOB, 0, err);
		if (w.seen) {
			out->batches++;
			out->rows += w.rows;
		}
		if (rc < 0 || !j->job.batch || w.last_rows == 0)
			break;
	}
	r->on_event = w.on_event;
	r->ctx = w.ctx;
	r->job_batch = 0;
	return rc;
}

int mg_job_run(struct mg_job_report *out, struct mg_runner *r,
               const struct mg_job *j, unsigned flags, int64_t now_s,
               struct mg_error *err)
{
	struct mg_job_last last;
	const struct mg_driver *drv = r->conn->drv;
	char name[128];
	int64_t key;
	int rc;

	memset(out, 0, sizeof(*out));
	r->applied = 0;
	if ((rc = mg_runner_check_file(r, &j->m.up, err)) < 0)
		return rc;
	if ((flags & MG_JOB_PREVIEW) && (rc = mg_preview_possible(r, err)) < 0)
		return rc;
	if (flags & MG_JOB_DRY_RUN) {
		/* read only: what the backups would be named and save */
		if ((rc = mg_ledger_load(&r->ledger, r->conn, r->table, false,
		                         err)) < 0)
			return rc;
		rc = mg_runner_dry_run(r, &j->m, MG_DIR_JOB, err);
		mg_ledger_free(r->ledger);
		r->ledger = NULL;
		return rc;
	}
	lock_name(name, &key, drv->schema(r->conn), r->table, j->m.name);
	rc = drv->job_lock != NULL
	             ? drv->job_lock(r->conn, name, key, r->lock_timeout_s, err)
	             : drv->lock(r->conn, name, key, r->lock_timeout_s, err);
	if (rc == MG_ELOCKED && err != NULL) {
		char detail[sizeof(err->detail)];

		/* the driver's words are about the run lock; keep who holds
		 * it (its detail) */
		memcpy(detail, err->detail, sizeof(detail));
		mg_error_set(err, MG_ELOCKED,
		             "job '%s' is running elsewhere: its lock was not "
		             "acquired within %d s",
		             j->m.name, r->lock_timeout_s);
		memcpy(err->detail, detail, sizeof(detail));
	}
	if (rc < 0)
		return rc;
	if ((rc = mg_ledger_load(&r->ledger, r->conn, r->table, false, err)) <
	    0)
		goto cleanup;
	if (!r->ledger->exists &&
	    ((rc = drv->txn(r->conn, MG_TXN_BEGIN, err)) < 0 ||
	     (rc = mg_ledger_ensure(r->ledger, r->conn, err)) < 0 ||
	     (rc = mg_runner_txn_end(r, MG_TXN_COMMIT, err)) < 0)) {
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
		goto cleanup;
	}
	if ((flags & MG_JOB_IF_DUE) &&
	    ((rc = mg_job_last_run(&last, r->conn, r->table, j->m.name, err)) <
	             0 ||
	     !mg_job_due(j, &last, now_s, NULL))) {
		out->not_due = rc == 0;
		goto cleanup;
	}
	if (flags & MG_JOB_PREVIEW)
		rc = mg_preview_job(r, &j->m, err);
	else
		rc = batches(out, r, j, name, key, err);
cleanup:
	if (drv->job_unlock != NULL)
		drv->job_unlock(r->conn, name, key);
	else
		drv->unlock(r->conn, name, key);
	mg_ledger_free(r->ledger);
	r->ledger = NULL;
	return rc;
}
