#include "migrator/safety.h"

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "migrator/bounds.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/json.h"
#include "migrator/monitor.h"
#include "migrator/runner.h"
#include "migrator/source.h"

void mg_signal_name(char *out, size_t size, int sig)
{
	if (sig == SIGINT)
		snprintf(out, size, "SIGINT");
	else if (sig == SIGTERM)
		snprintf(out, size, "SIGTERM");
	else
		snprintf(out, size, "signal %d", sig);
}

int mg_safety_begin(struct mg_runner *r, struct mg_error *err)
{
	const struct mg_driver *drv = r->conn->drv;

	if (r->bounds == NULL || drv->set_bounds == NULL)
		return 0;
	return drv->set_bounds(r->conn, r->bounds->lock_ms, r->bounds->stmt_ms,
	                       MG_BOUNDS_DEFAULT, err);
}

int mg_safety_file(struct mg_runner *r, const struct mg_file *f,
                   struct mg_error *err)
{
	const struct mg_driver *drv = r->conn->drv;
	struct mg_bounds b;
	int rc;

	if (r->bounds != NULL && drv->set_bounds != NULL) {
		mg_bounds_for_file(&b, r->bounds, &f->dir);
		if ((rc = drv->set_bounds(r->conn, b.lock_ms, b.stmt_ms, 0,
		                          err)) < 0)
			return rc;
	}
	mg_monitor_file(r->mon, f->path, r->attempt > 0 ? r->attempt : 1);
	return 0;
}

void mg_safety_file_end(struct mg_runner *r, struct mg_error *ferr)
{
	struct mg_buf b = MG_BUF_INIT;
	char name[32], msg[sizeof(ferr->msg)];
	int sig;

	mg_monitor_idle(r->mon);
	if (ferr == NULL)
		return;
	if (mg_monitor_frozen(r->mon)) {
		snprintf(msg, sizeof(msg), "%s", ferr->msg);
		snprintf(ferr->msg, sizeof(ferr->msg),
		         "the server stopped answering (no heartbeat answer "
		         "within %d s on migrate's second session): the "
		         "connection was cut (%.300s)",
		         MG_WATCH_ANSWER_MS / 1000, msg);
		mg_error_hint(ferr, "whether the file's work was kept is "
		                    "unknown until the server answers again: "
		                    "then 'migrate status' shows it (a "
		                    "transaction that did not commit is "
		                    "rolled back)");
		return;
	}
	if ((sig = mg_monitor_cancelled(r->mon)) != 0 ||
	    (r->stop != NULL && *r->stop != 0)) {
		if (sig == 0)
			sig = (int)*r->stop;
		mg_signal_name(name, sizeof(name), sig);
		snprintf(msg, sizeof(msg), "%s", ferr->msg);
		snprintf(ferr->msg, sizeof(ferr->msg),
		         "cancelled by %s: the statement was stopped on the "
		         "server (%.400s)",
		         name, msg);
		return;
	}
	if (!ferr->lock_wait)
		return;
	mg_monitor_blockers(r->mon, &b);
	if (b.len == 0)
		mg_buf_add(&b, "no blocking session was seen while it waited");
	if (ferr->detail[0] != '\0')
		mg_buf_addf(&b, "\n%s", ferr->detail);
	if (!b.failed)
		snprintf(ferr->detail, sizeof(ferr->detail), "%s", b.ptr);
	mg_buf_dispose(&b);
}

void mg_safety_evidence(struct mg_runner *r, struct mg_buf *json,
                        const struct mg_error *ferr)
{
	struct mg_buf item = MG_BUF_INIT;
	struct mg_json w;
	bool lock_wait = ferr != NULL && ferr->lock_wait;

	if ((r->attempt <= 1 && !lock_wait) || json->len < 2 ||
	    json->ptr[json->len - 1] != ']')
		return;
	mg_json_init(&w, &item);
	mg_json_object_begin(&w, NULL);
	mg_json_string(&w, "kind", "attempt");
	mg_json_int(&w, "attempt", r->attempt);
	mg_json_int(&w, "of", r->retries + 1);
	mg_json_bool(&w, "lock_wait_timeout", lock_wait);
	if (lock_wait) {
		struct mg_buf who = MG_BUF_INIT;

		mg_monitor_blockers_json(r->mon, &who);
		mg_json_array_or_string(&w, "blocked_by", mg_buf_cstr(&who));
		mg_buf_dispose(&who);
	}
	mg_json_end(&w);
	mg_buf_truncate(json, json->len - 1);
	if (json->len > 1)
		mg_buf_addc(json, ',');
	mg_buf_add(json, mg_buf_cstr(&item));
	mg_buf_addc(json, ']');
	mg_buf_dispose(&item);
}

bool mg_safety_retry(struct mg_runner *r, const char *path,
                     struct mg_error *err)
{
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	int64_t backoff, waited;
	char hint[sizeof(err->hint)];

	if (!r->retryable)
		return false;
	r->retryable = false;
	if (r->attempt > r->retries || (r->stop != NULL && *r->stop != 0)) {
		snprintf(hint, sizeof(hint), "%s", err->hint);
		mg_error_hint(err,
		              "%s%sgave up after %d attempt%s: commit or end "
		              "the blocking sessions and run again, or raise "
		              "--ddl-lock-timeout or --retries",
		              hint, hint[0] ? "; " : "", r->attempt,
		              r->attempt == 1 ? "" : "s");
		return false;
	}
	/* 1 s, 2 s, 4 s, ... each +-25 % so that runners that collided
	 * do not collide again */
	backoff = (int64_t)1000 << (r->attempt - 1 < 10 ? r->attempt - 1 : 10);
	backoff += (int64_t)randombytes_uniform((uint32_t)(backoff / 2)) -
	           backoff / 4;
	mg_monitor_retry(r->mon, path, r->attempt, backoff);
	for (waited = 0; waited < backoff; waited += 100) {
		if (r->stop != NULL && *r->stop != 0)
			return false;
		nanosleep(&tick, NULL);
	}
	r->attempt++;
	return true;
}

void mg_safety_outcome(struct mg_runner *r, const struct mg_error *ferr,
                       bool failed_clean)
{
	r->retryable = ferr != NULL && ferr->lock_wait && failed_clean &&
	               mg_monitor_cancelled(r->mon) == 0 &&
	               (r->stop == NULL || *r->stop == 0);
}

int mg_safety_stopped(struct mg_runner *r, const char *path,
                      struct mg_error *err)
{
	char name[32];

	if (r->stop == NULL || *r->stop == 0)
		return 0;
	mg_signal_name(name, sizeof(name), (int)*r->stop);
	return mg_error_set(err, MG_ERR, "stopped by %s before %s", name, path);
}
