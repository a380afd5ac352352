#include "cmd/safety.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/drivers/url.h"
#include "migrator/json.h"
#include "migrator/monitor.h"
#include "migrator/safety.h"

int refuse_read_only(const struct opts *o, struct mg_conn *conn)
{
	struct mg_error err = { 0 };
	char why[256];
	char *shown;
	int rc;

	if (conn->drv->read_only == NULL)
		return 0;
	if ((rc = conn->drv->read_only(why, sizeof(why), conn, &err)) < 0)
		return report(o, &err);
	if (rc == 0)
		return 0;
	shown = mg_url_redact(o->database);
	mg_error_set(&err, MG_ERR, "%s %s: connect to the primary",
	             shown ? shown : "the database", why);
	free(shown);
	mg_error_detail(&err, "'%s' writes; nothing was planned or run",
	                o->command);
	mg_error_hint(&err,
	              "PostgreSQL: list the hosts and add "
	              "target_session_attrs=read-write to the URL, and libpq "
	              "connects to the primary");
	return report(o, &err);
}

void standby_note(const struct opts *o, struct mg_conn *conn)
{
	char lag[512];

	if (conn->drv->lag == NULL ||
	    conn->drv->lag(lag, sizeof(lag), conn, NULL) != 1)
		return;
	/* with --json an object of its own on stdout (stderr carries only
	 * errors then); otherwise a note on stderr, where it never mixes
	 * with the table */
	if (o->json) {
		struct mg_buf b = MG_BUF_INIT;
		struct mg_json w;

		mg_json_init(&w, &b);
		mg_json_object_begin(&w, NULL);
		mg_json_string(&w, "event", "standby");
		mg_json_bool(&w, "read_only", true);
		mg_json_string(&w, "lag", lag);
		mg_json_end(&w);
		print_json_line(&b);
	} else if (!o->quiet) {
		fprintf(stderr, "note: this is a standby (read-only), %s\n",
		        lag);
	}
}

/* The one flag a signal handler may write: cmd/ is where signals are
 * handled, and the library reads it through the pointer it is given. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	static const char first[] = "\nmigrate: stopping: cancelling the "
	                            "running statement (a second signal "
	                            "exits at once)\n";

	if (stop_signal != 0)
		_exit(128 + sig);
	stop_signal = sig;
	/* write(2) is async-signal-safe; the message's end is printed by
	 * the run */
	if (write(STDERR_FILENO, first, sizeof(first) - 1) < 0)
		return;
}

volatile sig_atomic_t *signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: a wait in the client library sees EINTR and goes
	 * on; the monitor thread does the cancelling */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return &stop_signal;
}

int signal_exit_code(void)
{
	return stop_signal != 0 ? 128 + (int)stop_signal : 0;
}

struct progress_ctx {
	const struct opts *o;
	bool tty;
};

static void on_progress(void *arg, const struct mg_progress *p)
{
	const struct opts *o = arg;
	struct mg_buf b = MG_BUF_INIT;
	struct mg_json w;
	bool tty = isatty(STDERR_FILENO);

	if (o->quiet) /* --quiet silences progress, JSON lines too */
		return;
	if (o->json) {
		mg_json_init(&w, &b);
		mg_json_object_begin(&w, NULL);
		mg_json_string(&w, "event", "progress");
		mg_json_string(&w, "phase", p->phase);
		mg_json_string(&w, "file", p->file);
		mg_json_int(&w, "line", p->line);
		mg_json_int(&w, "elapsed_ms", p->elapsed_ms);
		mg_json_int(&w, "attempt", p->attempt);
		if (p->backoff_ms > 0)
			mg_json_int(&w, "retry_in_ms", p->backoff_ms);
		if (p->waits != NULL)
			mg_json_string(&w, "waits_for", p->waits);
		if (p->blocked != NULL)
			mg_json_string(&w, "blocked_by", p->blocked);
		mg_json_end(&w);
		print_json_line(&b);
		return;
	}
	if (strcmp(p->phase, "start") == 0) {
		if (p->attempt > 1)
			mg_buf_addf(&b, "running %s (attempt %d)", p->file,
			            p->attempt);
		else
			mg_buf_addf(&b, "running %s", p->file);
	} else if (strcmp(p->phase, "retry") == 0) {
		mg_buf_addf(&b,
		            "%s: lock wait timed out (attempt %d); retrying "
		            "in %.1f s",
		            p->file, p->attempt, (double)p->backoff_ms / 1000);
	} else {
		mg_buf_addf(&b, "still running %s", p->file);
		if (p->line > 0)
			mg_buf_addf(&b, ":%u", p->line);
		mg_buf_addf(&b, " after %lld s",
		            (long long)(p->elapsed_ms / 1000));
		if (p->waits != NULL)
			mg_buf_addf(&b, ", waiting for %s", p->waits);
		if (p->blocked != NULL)
			mg_buf_addf(&b, "\n  %s", p->blocked);
	}
	if (!b.failed) {
		char *text = b.ptr;

		scrub_secrets(o, text, b.len + 1);
		/* a terminal gets one line that updates (the file's outcome
		 * overwrites it); a pipe gets a line each */
		if (tty && strchr(text, '\n') == NULL)
			fprintf(stderr, "\r\033[K%s", text);
		else
			fprintf(stderr, "%s%s\n", tty ? "\r\033[K" : "", text);
		fflush(stderr);
	}
	mg_buf_dispose(&b);
}

void monitor_open(struct mg_monitor **out, const struct opts *o,
                  struct session *s)
{
	struct mg_monitor_opts mo = { 0 };
	struct mg_error err = { 0 };
	*out = NULL;
	mo.stop = signals_install();
	mo.on_progress = on_progress;
	mo.ctx = (void *)o;
	if (mg_monitor_start(out, s->conn, o->database, &mo, &err) < 0) {
		scrub_secrets(o, err.msg, sizeof(err.msg));
		fprintf(stderr,
		        "warning: no second session for progress and lock "
		        "reports: %s\n",
		        err.msg);
		mo.stop = signals_install();
		mg_monitor_start(out, s->conn, NULL, &mo, NULL);
	}
	s->r.mon = *out;
	s->r.stop = mo.stop;
	/* progress lines name the statement's line (issue 10's hook) */
	if (s->r.hooks == NULL)
		s->r.hooks = mg_monitor_hooks(*out);
}
