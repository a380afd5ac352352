#include "migrator/monitor.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/json.h"

/* How often the thread looks at the state; a signal is acted on within
 * this. */
#define TICK_MS 100
/* The first look for blockers after a statement starts, then each
 * SAMPLE_MS: quick enough to see one behind a lock_timeout of 500 ms. */
#define FIRST_SAMPLE_MS 200
#define SAMPLE_MS 1000

struct mg_monitor {
	struct mg_conn *conn;  /* the runner's; not ours */
	struct mg_conn *watch; /* the second session, or NULL */
	int64_t waiter;        /* conn's session id on the server */
	struct mg_monitor_opts o;
	struct mg_script_hooks hooks; /* stmt_start: mg_monitor_at() */
	char *url; /* to open the second session again */
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* the rest under mu */
	bool quit;
	bool watching;
	char path[512];
	unsigned line;
	int attempt;
	int64_t t0, t_stmt, last_report, last_sample, last_beat;
	struct mg_rows *seen; /* the last sample that found blockers */
	struct mg_rows *now;  /* the latest sample, maybe empty */
	int cancelled;
	bool frozen;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Columns of blockers(): id, user, application, state, since, query,
 * what the waiter waits on. */
enum { B_ID, B_USER, B_APP, B_STATE, B_SINCE, B_QUERY, B_WAITS, B_N };

static const char *cell(const struct mg_rows *r, size_t row, size_t col)
{
	const char *v = col < r->ncols ? mg_rows_get(r, row, col) : NULL;

	return v != NULL ? v : "";
}

static void describe(struct mg_buf *out, const struct mg_rows *r)
{
	size_t i;

	for (i = 0; r != NULL && i < r->nrows; i++) {
		mg_buf_addf(out, "%sblocked by session %s (user '%s'",
		            out->len > 0 ? "\n" : "", cell(r, i, B_ID),
		            cell(r, i, B_USER));
		if (*cell(r, i, B_APP) != '\0')
			mg_buf_addf(out, ", application '%s'",
			            cell(r, i, B_APP));
		mg_buf_addf(out, ", %s since %s), last query: %s",
		            cell(r, i, B_STATE), cell(r, i, B_SINCE),
		            *cell(r, i, B_QUERY) != '\0'
		                    ? cell(r, i, B_QUERY)
		                    : "(not shown by the server)");
		if (strstr(cell(r, i, B_STATE), "idle") != NULL ||
		    strstr(cell(r, i, B_STATE), "Sleep") != NULL)
			mg_buf_add(out, " (an idle transaction shows its last "
			                "statement, not necessarily the one "
			                "that took the lock)");
	}
}

static void report(struct mg_monitor *m, const char *phase, int64_t elapsed,
                   const struct mg_rows *now)
{
	struct mg_buf blocked = MG_BUF_INIT;
	struct mg_progress p = { 0 };
	char waits[256] = "";

	if (m->o.on_progress == NULL)
		return;
	describe(&blocked, now);
	if (now != NULL && now->nrows > 0)
		snprintf(waits, sizeof(waits), "%s", cell(now, 0, B_WAITS));
	p.phase = phase;
	p.file = m->path;
	p.line = m->line;
	p.elapsed_ms = elapsed;
	p.attempt = m->attempt;
	p.waits = waits[0] ? waits : NULL;
	p.blocked = blocked.len > 0 && !blocked.failed ? blocked.ptr : NULL;
	m->o.on_progress(m->o.ctx, &p);
	mg_buf_dispose(&blocked);
}

/*
 * A round trip on the second session, answered within MG_WATCH_ANSWER_MS
 * (MG_CONNECT_WATCH). A session that fails at once may only have been
 * ended (a DBA's pg_terminate_backend): open it again, and only if that
 * fails too, or the server does not answer, is the server gone or
 * frozen. Then the runner's session is cut, so that its call fails
 * instead of waiting forever. Called without mu.
 */
/* The server did not answer the second session in time: cut the
 * runner's session, whose call would wait as long. Called without mu. */
static void gone(struct mg_monitor *m)
{
	pthread_mutex_lock(&m->mu);
	m->frozen = true;
	pthread_mutex_unlock(&m->mu);
	if (m->conn->drv->abort != NULL)
		m->conn->drv->abort(m->conn);
}

static void heartbeat(struct mg_monitor *m)
{
	const struct mg_driver *drv = m->conn->drv;
	struct mg_conn *again = NULL;
	int64_t t0 = now_ms();

	if (drv->ping(m->watch, NULL) == 0)
		return;
	if (now_ms() - t0 < MG_WATCH_ANSWER_MS / 2 &&
	    drv->connect(&again, m->url,
	                 MG_CONNECT_READ_ONLY | MG_CONNECT_WATCH, NULL) == 0 &&
	    drv->ping(again, NULL) == 0) {
		pthread_mutex_lock(&m->mu);
		drv->close(m->watch);
		m->watch = again;
		pthread_mutex_unlock(&m->mu);
		return;
	}
	if (again != NULL)
		drv->close(again);
	gone(m);
}

static void *watcher(void *arg)
{
	struct mg_monitor *m = arg;
	const struct mg_driver *drv = m->conn->drv;
	struct timespec until;

	pthread_mutex_lock(&m->mu);
	while (!m->quit) {
		int64_t t;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&m->cv, &m->mu, &until);
		if (m->quit)
			break;
		t = now_ms();
		/* a signal: stop the statement on the server, once; only
		 * while a file runs, so that it cannot hit the ledger row
		 * that records the outcome */
		if (m->o.stop != NULL && *m->o.stop != 0 && m->watching &&
		    m->cancelled == 0 && drv->cancel != NULL) {
			m->cancelled = (int)*m->o.stop;
			pthread_mutex_unlock(&m->mu);
			drv->cancel(m->conn, m->watch, NULL);
			pthread_mutex_lock(&m->mu);
			continue;
		}
		if (m->watching && m->watch != NULL && drv->blockers != NULL &&
		    t - m->t_stmt >= FIRST_SAMPLE_MS &&
		    t - m->last_sample >= SAMPLE_MS) {
			struct mg_rows *rows = NULL;

			m->last_sample = t;
			pthread_mutex_unlock(&m->mu);
			/* unanswered for MG_WATCH_ANSWER_MS: a heartbeat
			 * that went unanswered too */
			if (drv->blockers(&rows, m->watch, m->waiter, NULL) <
			            0 &&
			    now_ms() - t >= MG_WATCH_ANSWER_MS - 1000)
				gone(m);
			pthread_mutex_lock(&m->mu);
			if (rows != NULL && rows->nrows > 0 && m->watching) {
				mg_rows_free(m->seen);
				m->seen = rows;
				mg_rows_free(m->now);
				m->now = NULL;
			} else {
				mg_rows_free(m->now);
				m->now = rows;
				rows = NULL;
			}
			if (rows != NULL && m->seen != rows)
				mg_rows_free(rows);
		}
		if (m->watching && t - m->t_stmt >= m->o.progress_ms &&
		    t - m->last_report >= m->o.progress_ms) {
			/* the latest sample: blockers in seen if it found any
			 */
			const struct mg_rows *cur =
			        m->now == NULL ? m->seen : NULL;

			m->last_report = t;
			report(m, "running", t - m->t0, cur);
		}
		if (m->watch != NULL && drv->ping != NULL && !m->frozen &&
		    t - m->last_beat >= m->o.heartbeat_ms) {
			m->last_beat = t;
			pthread_mutex_unlock(&m->mu);
			heartbeat(m);
			pthread_mutex_lock(&m->mu);
		}
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

int mg_monitor_start(struct mg_monitor **out, struct mg_conn *conn,
                     const char *url, const struct mg_monitor_opts *opts,
                     struct mg_error *err)
{
	const struct mg_driver *drv = conn->drv;
	struct mg_monitor *m;
	int rc = 0;

	*out = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	m->conn = conn;
	m->o = *opts;
	if (m->o.progress_ms <= 0)
		m->o.progress_ms = 10000;
	if (m->o.heartbeat_ms <= 0)
		m->o.heartbeat_ms = 10000;
	if (m->o.frozen_ms <= 0)
		m->o.frozen_ms = 60000;
	m->waiter = drv->session_id != NULL ? drv->session_id(conn) : 0;
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	if (url != NULL && m->waiter != 0 &&
	    (drv->blockers != NULL || drv->cancel != NULL) &&
	    ((m->url = strdup(url)) == NULL ||
	     (rc = drv->connect(&m->watch, url,
	                        MG_CONNECT_READ_ONLY | MG_CONNECT_WATCH, err)) <
	             0)) {
		if (m->url == NULL)
			rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		goto fail;
	}
	if (pthread_create(&m->thread, NULL, watcher, m) != 0) {
		rc = mg_error_set(err, MG_ERR, "cannot start a thread: %s",
		                  strerror(errno));
		goto fail;
	}
	m->started = true;
	*out = m;
	return 0;
fail:
	mg_monitor_stop(m);
	return rc;
}

void mg_monitor_stop(struct mg_monitor *mon)
{
	if (mon == NULL)
		return;
	if (mon->started) {
		pthread_mutex_lock(&mon->mu);
		mon->quit = true;
		pthread_cond_signal(&mon->cv);
		pthread_mutex_unlock(&mon->mu);
		pthread_join(mon->thread, NULL);
	}
	if (mon->watch != NULL)
		mon->watch->drv->close(mon->watch);
	mg_rows_free(mon->seen);
	mg_rows_free(mon->now);
	free(mon->url);
	pthread_cond_destroy(&mon->cv);
	pthread_mutex_destroy(&mon->mu);
	free(mon);
}

void mg_monitor_file(struct mg_monitor *mon, const char *path, int attempt)
{
	if (mon == NULL)
		return;
	pthread_mutex_lock(&mon->mu);
	snprintf(mon->path, sizeof(mon->path), "%s", path);
	mon->line = 0;
	mon->attempt = attempt;
	mon->t0 = mon->t_stmt = mon->last_report = now_ms();
	mon->last_sample = 0;
	mg_rows_free(mon->seen);
	mg_rows_free(mon->now);
	mon->seen = mon->now = NULL;
	mon->watching = true;
	report(mon, "start", 0, NULL);
	pthread_mutex_unlock(&mon->mu);
}

void mg_monitor_at(struct mg_monitor *mon, const char *path, unsigned line)
{
	if (mon == NULL)
		return;
	pthread_mutex_lock(&mon->mu);
	if (path != NULL)
		snprintf(mon->path, sizeof(mon->path), "%s", path);
	mon->line = line;
	mon->t_stmt = mon->last_report = now_ms();
	pthread_mutex_unlock(&mon->mu);
}

static void at_line(void *ctx, unsigned line)
{
	mg_monitor_at(ctx, NULL, line);
}

const struct mg_script_hooks *mg_monitor_hooks(struct mg_monitor *mon)
{
	if (mon == NULL)
		return NULL;
	mon->hooks.stmt_start = at_line;
	mon->hooks.ctx = mon;
	return &mon->hooks;
}

void mg_monitor_idle(struct mg_monitor *mon)
{
	if (mon == NULL)
		return;
	pthread_mutex_lock(&mon->mu);
	mon->watching = false;
	pthread_mutex_unlock(&mon->mu);
}

void mg_monitor_retry(struct mg_monitor *mon, const char *path, int attempt,
                      int64_t backoff_ms)
{
	struct mg_progress p = { 0 };

	if (mon == NULL || mon->o.on_progress == NULL)
		return;
	p.phase = "retry";
	p.file = path;
	p.attempt = attempt;
	p.backoff_ms = backoff_ms;
	mon->o.on_progress(mon->o.ctx, &p);
}

void mg_monitor_blockers(struct mg_monitor *mon, struct mg_buf *out)
{
	if (mon == NULL)
		return;
	pthread_mutex_lock(&mon->mu);
	if (mon->seen != NULL && mon->seen->nrows > 0) {
		describe(out, mon->seen);
		if (*cell(mon->seen, 0, B_WAITS) != '\0')
			mg_buf_addf(out, "\nit waited for %s",
			            cell(mon->seen, 0, B_WAITS));
	}
	pthread_mutex_unlock(&mon->mu);
}

void mg_monitor_blockers_json(struct mg_monitor *mon, struct mg_buf *out)
{
	static const char *const keys[B_N] = { "id",    "user",  "application",
		                               "state", "since", "query",
		                               "waits" };
	struct mg_json w;
	size_t i, k;

	mg_json_init(&w, out);
	mg_json_array_begin(&w, NULL);
	if (mon != NULL) {
		pthread_mutex_lock(&mon->mu);
		for (i = 0; mon->seen != NULL && i < mon->seen->nrows; i++) {
			mg_json_object_begin(&w, NULL);
			for (k = 0; k < B_N; k++)
				mg_json_string(&w, keys[k],
				               cell(mon->seen, i, k));
			mg_json_end(&w);
		}
		pthread_mutex_unlock(&mon->mu);
	}
	mg_json_end(&w);
}

int mg_monitor_cancelled(struct mg_monitor *mon)
{
	int sig;

	if (mon == NULL)
		return 0;
	pthread_mutex_lock(&mon->mu);
	sig = mon->cancelled;
	pthread_mutex_unlock(&mon->mu);
	return sig;
}

bool mg_monitor_frozen(struct mg_monitor *mon)
{
	bool f;

	if (mon == NULL)
		return false;
	pthread_mutex_lock(&mon->mu);
	f = mon->frozen;
	pthread_mutex_unlock(&mon->mu);
	return f;
}
