/*
 * Fleets: one command on many databases (SPEC.md, "Topologies"; issue 12).
 *
 * The parent reads the targets and the migration files once, then runs
 * everything per target in a child process (cmd/fleet_pool.c): first, for
 * the commands that write, a check of every target (reachable, not dirty,
 * not drifted, its applied versions a prefix of the files); then the
 * command itself, through the same cmd_* function a single run uses, with
 * -d set to the target and the files handed over instead of read again.
 * The children's lines come back whole, prefixed with the target (JSON
 * lines get a "target" member), and each target ends with one line of its
 * own; a summary closes the run. Nothing here knows any database.
 */
#include "cmd/fleet.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/config.h"
#include "cmd/fleet_pool.h"
#include "cmd/options.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/drivers/url.h"
#include "migrator/json.h"
#include "migrator/ledger.h"
#include "migrator/plan.h"
#include "migrator/source.h"
#include "migrator/targets.h"

/* The largest targets file read. */
#define TARGETS_FILE_MAX (4u << 20)

/* What a child reports on its result pipe: the target's version (the
 * highest applied; 0: none) once it has run, or as it was checked. */
struct result {
	int code;
	bool have_version;
	int64_t version;
};

enum tstatus { T_WAITING, T_CHECKED, T_REFUSED, T_SKIPPED, T_RAN };

struct target {
	enum tstatus st;
	int code;
	bool have_from, have_to;
	int64_t from, to;
	int64_t ms;
	char *error; /* what the child's own JSON summary said; owned */
};

enum phase { PH_CHECK, PH_RUN };

struct fleet {
	const struct opts *o;
	const struct command *c;
	const char *file; /* the targets file; NULL: --targets-query */
	struct mg_targets t;
	struct mg_source *src;
	struct target *ts;
	enum phase phase;
	bool stop;   /* stop starting targets after a failure */
	bool failed; /* a target of the current batch failed */
};

static bool writes(const struct command *c)
{
	return c->fn == cmd_up || c->fn == cmd_down || c->fn == cmd_test;
}

bool fleet_wanted(const struct opts *o, const struct command *c)
{
	return (c->accepts & O_TARGETS) &&
	       (o->targets != NULL || o->targets_query != NULL ||
	        o->jobs != 0 || o->on_failure != NULL || o->canary != 0);
}

/* Exit codes from least to most serious: pending only, the lock was busy
 * (try again), a check failed and was rolled back, refused before running,
 * drift or a tampered ledger, a runtime failure (possibly half-applied). */
static int severity(int code)
{
	static const int order[] = { EXIT_OK, EXIT_PENDING, EXIT_LOCKED,
		                     EXIT_CHECK, EXIT_USAGE, EXIT_VERIFY,
		                     EXIT_RUNTIME };
	size_t i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (order[i] == code)
			return (int)i;
	return (int)(sizeof(order) / sizeof(order[0]));
}

static int worse(int a, int b)
{
	return severity(b) > severity(a) ? b : a;
}

/* Lists the versions of st in `state`, "3_x, 5_y", for a message. */
static void list_versions(struct mg_buf *b, const struct mg_status *st,
                          enum mg_state state)
{
	size_t i, k = 0;

	for (i = 0; i < st->n; i++)
		if (st->v[i].state == state && k++ < 10)
			mg_buf_addf(b, "%s%lld_%s", k > 1 ? ", " : "",
			            (long long)st->v[i].version, st->v[i].name);
	if (k > 10)
		mg_buf_addf(b, " and %zu more", k - 10);
}

/*
 * Reads the target's ledger on conn and its version; with `gate`, refuses
 * what a run must not start on: a dirty or drifted version, an applied
 * version without files, a pending version below the newest applied one
 * (unless --allow-out-of-order). An mg_code, with err.
 */
static int stand(struct result *res, struct mg_conn *conn,
                 const struct opts *o, const struct mg_source *src, bool gate,
                 struct mg_error *err)
{
	struct mg_up_opts uo = { .to = -1,
		                 .allow_out_of_order = o->allow_out_of_order };
	struct mg_ledger *l = NULL;
	struct mg_status st = { 0 };
	struct mg_plan plan = { 0 };
	struct mg_buf b = MG_BUF_INIT;
	size_t i;
	int rc;

	if ((rc = mg_ledger_load(&l, conn, o->table, false, err)) < 0 ||
	    (rc = mg_status_build(&st, src, l, err)) < 0)
		goto cleanup;
	res->have_version = true;
	res->version = st.max_applied < 0 ? 0 : st.max_applied;
	if (!gate)
		goto cleanup;
	for (i = 0; i < st.n; i++)
		if (st.v[i].state == MG_STATE_MISSING)
			break;
	if (i < st.n) {
		list_versions(&b, &st, MG_STATE_MISSING);
		rc = mg_error_set(err, MG_ECHECKSUM,
		                  "applied migrations have no files here: %s",
		                  mg_buf_cstr(&b));
		mg_error_hint(err, "is -m the right directory for this "
		                   "target? see 'migrate status'");
		goto cleanup;
	}
	/* the planner's own refusals: dirty, drifted, out of order */
	rc = mg_plan_up(&plan, &st, &uo, err);
cleanup:
	mg_buf_dispose(&b);
	mg_plan_dispose(&plan);
	mg_status_dispose(&st);
	mg_ledger_free(l);
	return rc;
}

/* In a child: stand() on a read-only session of its own (no lock: a
 * look, as `status` takes). Reports unless `quiet`; an exit code. */
static int probe(const struct opts *o, const struct mg_source *src, bool gate,
                 bool quiet, struct result *res)
{
	struct mg_conn *conn = NULL;
	struct mg_error err = { 0 };
	const struct mg_driver *drv;
	int rc, code;

	if (quiet) {
		if ((drv = mg_driver_for_url(o->database, &err)) == NULL ||
		    drv->connect(&conn, o->database, MG_CONNECT_READ_ONLY,
		                 &err) < 0)
			return EXIT_RUNTIME;
	} else if ((code = open_db(&conn, o, MG_CONNECT_READ_ONLY)) != 0) {
		return code;
	}
	rc = stand(res, conn, o, src, gate, &err);
	code = rc == 0 ? EXIT_OK : quiet ? exit_code_for(rc) : report(o, &err);
	close_db(conn);
	return code;
}

/* What a child's command leaves for the version after it ran. */
struct after {
	const struct opts *o;
	struct result *res;
};

/* session_close()'s hook: where the target stands, read on the command's
 * own connection before it closes. The files went with the command: the
 * ledger alone gives the highest applied version. */
static void read_after(void *ctx, struct mg_conn *conn)
{
	struct after *a = ctx;
	struct mg_source none = { 0 };
	struct mg_error err = { 0 };

	a->res->have_version = false;
	if (stand(a->res, conn, a->o, &none, false, &err) < 0)
		a->res->have_version = false;
}

/* The pool's run(): in the child, one target. */
static int child_run(void *ctx, size_t i, int fd)
{
	struct fleet *f = ctx;
	struct opts o = *f->o;
	struct mg_source none = { 0 };
	struct result res = { 0 };
	struct after after = { &o, &res };
	ssize_t w;

	o.database = f->t.v[i].url;
	if (f->phase == PH_CHECK) {
		res.code = probe(&o, f->src, true, false, &res);
	} else {
		o.preloaded = &f->src;
		o.before_close = read_after;
		o.before_close_ctx = &after;
		res.code = f->c->fn(&o);
		/* status and verify have no session: a look of our own */
		if (!res.have_version)
			probe(&o, &none, false, true, &res);
	}
	fflush(stdout);
	fflush(stderr);
	w = write(fd, &res, sizeof(res));
	(void)w; /* the parent reads a short result as "unknown" */
	return res.code;
}

/* A JSON string value, quotes included, into b. */
static void json_value(struct mg_buf *b, const char *s)
{
	struct mg_json w;

	mg_json_init(&w, b);
	mg_json_string(&w, NULL, s);
}

/* {"event":"migration",... -> {"event":"migration","target":"...",... */
static void print_json_with_target(const char *line, const char *label)
{
	struct mg_buf b = MG_BUF_INIT;
	const char *at = line + 1, *q;

	if (strncmp(line, "{\"event\":\"", 10) == 0 &&
	    (q = strchr(line + 10, '"')) != NULL)
		at = q + 1;
	mg_buf_addn(&b, line, (size_t)(at - line));
	if (at > line + 1)
		mg_buf_addc(&b, ',');
	mg_buf_add(&b, "\"target\":");
	json_value(&b, label);
	if (at == line + 1 && *at != '}')
		mg_buf_addc(&b, ',');
	mg_buf_add(&b, at);
	print_json_line(&b);
}

/* The error a child's JSON summary holds, kept for its target event. */
static void keep_error(struct target *t, const char *line)
{
	struct mg_json_value *v = NULL;
	const char *e;

	if (mg_json_parse(&v, line, NULL) < 0)
		return;
	if ((e = mg_json_object_string(v, "error")) != NULL) {
		free(t->error);
		t->error = strdup(e);
	}
	mg_json_value_free(v);
}

/* The pool's line(): a child's line, shown as coming from its target. */
static void child_line(void *ctx, size_t i, bool is_err, const char *line)
{
	struct fleet *f = ctx;
	const char *label = f->t.v[i].label;
	size_t size = strlen(line) + 1;
	char *text = malloc(size);

	if (text == NULL)
		return;
	memcpy(text, line, size);
	/* the child scrubbed it already; a last look with its URL */
	mg_url_scrub(text, size, f->t.v[i].url);
	scrub_secrets(f->o, text, size);
	if (!is_err && f->o->json && text[0] == '{') {
		if (strncmp(text, "{\"event\":\"summary\"", 18) == 0)
			keep_error(&f->ts[i], text); /* one summary: ours */
		else
			print_json_with_target(text, label);
	} else {
		fflush(stdout);
		fprintf(is_err || f->o->json ? stderr : stdout, "[%s] %s\n",
		        label, text);
	}
	free(text);
}

static const char *status_name(const struct target *t)
{
	switch (t->st) {
	case T_REFUSED:
		return "refused";
	case T_SKIPPED:
	case T_WAITING:
	case T_CHECKED:
		return "skipped";
	case T_RAN:
		break;
	}
	return t->code == EXIT_OK        ? "ok"
	       : t->code == EXIT_PENDING ? "pending"
	                                 : "failed";
}

static void version_text(char *out, size_t size, bool have, int64_t v)
{
	if (have)
		snprintf(out, size, "%" PRId64, v);
	else
		snprintf(out, size, "?");
}

/* The line that ends a target: "target LABEL: 3 -> 5 ok (120 ms)", and
 * its {"event":"target",...} with --json. */
static void print_target(const struct fleet *f, size_t i)
{
	const struct target *t = &f->ts[i];
	const char *status = status_name(t);
	char from[24], to[24];
	struct mg_buf b = MG_BUF_INIT;
	struct mg_json w;

	version_text(from, sizeof(from), t->have_from, t->from);
	version_text(to, sizeof(to), t->have_to, t->to);
	if (t->code == EXIT_OK || t->st == T_SKIPPED)
		say(f->o, "target %s: %s -> %s %s%s%s (%" PRId64 " ms)\n",
		    f->t.v[i].label, from, to, colour_on(stderr, status),
		    status, colour_off(stderr, status), t->ms);
	else /* shown with --quiet too */
		fprintf(stderr,
		        "target %s: %s -> %s %s%s%s, exit %d (%" PRId64
		        " ms)\n",
		        f->t.v[i].label, from, to, colour_on(stderr, status),
		        status, colour_off(stderr, status), t->code, t->ms);
	if (!f->o->json)
		return;
	mg_json_init(&w, &b);
	mg_json_object_begin(&w, NULL);
	mg_json_string(&w, "event", "target");
	mg_json_string(&w, "target", f->t.v[i].label);
	if (t->have_from)
		mg_json_int(&w, "from", t->from);
	else
		mg_json_null(&w, "from");
	if (t->have_to)
		mg_json_int(&w, "to", t->to);
	else
		mg_json_null(&w, "to");
	mg_json_string(&w, "status", status);
	mg_json_int(&w, "exit", t->code);
	mg_json_int(&w, "duration_ms", t->ms);
	if (t->error != NULL)
		mg_json_string(&w, "error", t->error);
	mg_json_end(&w);
	print_json_line(&b);
}

/* A child's exit status as an exit code of SPEC.md. */
static int child_code(struct fleet *f, size_t i, int code)
{
	char msg[160];

	if (code >= EXIT_OK && code <= EXIT_PENDING)
		return code;
	snprintf(msg, sizeof(msg), "error: the process for this target ended "
	                           "with status %d",
	         code);
	child_line(f, i, true, msg);
	return EXIT_RUNTIME;
}

/* The pool's done(): a target's check or run ended. */
static bool child_done(void *ctx, size_t i, int code, int64_t ms,
                       const void *data, size_t len)
{
	struct fleet *f = ctx;
	struct target *t = &f->ts[i];
	struct result res = { 0 };
	bool have = len == sizeof(res);

	if (have)
		memcpy(&res, data, sizeof(res));
	code = child_code(f, i, code);
	if (f->phase == PH_CHECK) {
		t->have_from = have && res.have_version;
		t->from = res.version;
		if (code == EXIT_OK) {
			t->st = T_CHECKED;
			return true;
		}
		/* every target is checked, whatever the policy: all the
		 * problems at once */
		t->st = T_REFUSED;
		t->code = code;
		t->ms = ms;
		t->have_to = t->have_from;
		t->to = t->from;
		f->failed = true;
		print_target(f, i);
		return true;
	}
	t->st = T_RAN;
	t->code = code;
	t->ms = ms;
	t->have_to = have && res.have_version;
	t->to = res.version;
	if (!t->have_from) { /* not checked first (status, verify) */
		t->have_from = t->have_to;
		t->from = t->to;
	}
	print_target(f, i);
	if (code == EXIT_OK || code == EXIT_PENDING)
		return true;
	f->failed = true;
	return !f->stop;
}

static const struct fleet_pool_ops ops = { child_run, child_line,
	                                   child_done };

/* Runs jobs[0..n) as one batch; true when none failed. */
static bool batch(struct fleet *f, const size_t *jobs, size_t n, bool stop)
{
	size_t started;

	f->failed = false;
	f->stop = stop;
	if (n > 0)
		fleet_pool_run(&started, jobs, n,
		               (int)(f->o->jobs ? f->o->jobs : 1), &ops, f);
	return !f->failed;
}

/* --targets-query: the -d database names the fleet's databases. */
static int query_targets(struct fleet *f)
{
	const struct opts *o = f->o;
	struct mg_conn *conn = NULL;
	struct mg_rows *rows = NULL;
	struct mg_error err = { 0 };
	char *url = NULL;
	size_t i;
	int code = 0, rc = 0;

	if ((code = open_db(&conn, o, MG_CONNECT_READ_ONLY)) != 0)
		return code;
	if ((rc = conn->drv->query(&rows, conn, o->targets_query, NULL, 0, 0,
	                           &err)) < 0) {
		mg_error_hint(&err, "--targets-query runs on the -d database "
		                    "and returns database names");
		goto cleanup;
	}
	if (rows->ncols < 1 || rows->nrows == 0) {
		rc = mg_error_set(&err, MG_EINVALID,
		                  "--targets-query returned no database names");
		goto cleanup;
	}
	for (i = 0; i < rows->nrows && rc == 0; i++) {
		const char *db = mg_rows_get(rows, i, 0);

		if (db == NULL) {
			rc = mg_error_set(&err, MG_EINVALID,
			                  "--targets-query returned NULL in "
			                  "row %zu",
			                  i + 1);
			break;
		}
		if ((rc = mg_url_with_database(&url, o->database, db, &err)) ==
		            0 &&
		    (rc = mg_targets_add(&f->t, url, 0, &err)) < 0 &&
		    rc == MG_EINVALID)
			mg_error_detail(&err, "database '%s' (row %zu)", db,
			                i + 1);
		free(url);
		url = NULL;
	}
cleanup:
	if (rc < 0)
		code = report(o, &err);
	mg_rows_free(rows);
	close_db(conn);
	return code;
}

static int read_targets(struct fleet *f)
{
	struct mg_buf text = MG_BUF_INIT;
	struct mg_error err = { 0 };
	int rc;

	if ((rc = read_text_file(&text, f->file, TARGETS_FILE_MAX,
	                         &err)) == 0)
		rc = mg_targets_parse(&f->t, f->file, mg_buf_cstr(&text),
		                      text.len, &err);
	if (text.ptr != NULL)
		memset(text.ptr, 0, text.len); /* passwords */
	mg_buf_dispose(&text);
	return rc < 0 ? report(f->o, &err) : 0;
}

static bool from_flag(const struct opts *o, enum setting s)
{
	return o->config != NULL &&
	       strcmp(o->config->origin[s], "flag") == 0;
}

/* The options, and f->file: --targets, or migrate.conf's `targets`
 * unless --targets-query was given. */
static int check_options(struct fleet *f)
{
	const struct opts *o = f->o;

	f->file = o->targets;
	if (f->file != NULL && o->targets_query != NULL &&
	    !from_flag(o, SET_TARGETS))
		f->file = NULL; /* the flag beats the file's key */
	if (f->file != NULL && o->targets_query != NULL)
		return usage_error(o, "give --targets FILE or --targets-query "
		                      "SQL, not both");
	if (f->file == NULL && o->targets_query == NULL)
		return usage_error(o, "-j, --on-failure and --canary go with "
		                      "--targets FILE or --targets-query SQL");
	if (f->file != NULL && o->database != NULL &&
	    from_flag(o, SET_DATABASE))
		return usage_error(o, "give -d URL or --targets FILE, not "
		                      "both");
	if (o->targets_query != NULL &&
	    (o->database == NULL || *o->database == '\0'))
		return usage_error(o, "--targets-query runs on the -d "
		                      "database: pass -d URL or set "
		                      "DATABASE_URL");
	if (o->plan_file != NULL)
		return usage_error(o, "--plan FILE holds one database's plan: "
		                      "it does not go with a fleet");
	if (o->on_failure != NULL && strcmp(o->on_failure, "stop") != 0 &&
	    strcmp(o->on_failure, "continue") != 0)
		return usage_error(o, "--on-failure takes stop or continue, "
		                      "not '%s'",
		                   o->on_failure);
	return 0;
}

/* The table at the end, and the --json summary event. */
static int summarize(const struct fleet *f)
{
	const struct opts *o = f->o;
	size_t i, n[5] = { 0 }, width = 6;
	int code = EXIT_OK;
	struct mg_buf b = MG_BUF_INIT;
	struct mg_json w;
	char from[24], to[24];

	for (i = 0; i < f->t.n; i++) {
		const struct target *t = &f->ts[i];

		code = worse(code, t->code);
		n[t->st]++;
		if (strlen(f->t.v[i].label) > width)
			width = strlen(f->t.v[i].label);
	}
	if (width > 72)
		width = 72;
	say(o, "\n%-*s %8s %8s %-8s %4s %8s\n", (int)width, "TARGET", "FROM",
	    "TO", "STATUS", "EXIT", "MS");
	for (i = 0; i < f->t.n; i++) {
		const struct target *t = &f->ts[i];

		version_text(from, sizeof(from), t->have_from, t->from);
		version_text(to, sizeof(to), t->have_to, t->to);
		say(o, "%-*s %8s %8s %-8s %4d %8" PRId64 "\n", (int)width,
		    f->t.v[i].label, from, to, status_name(t), t->code, t->ms);
	}
	say(o, "%zu target%s: %zu ran, %zu refused, %zu skipped; exit %d\n",
	    f->t.n, f->t.n == 1 ? "" : "s", n[T_RAN], n[T_REFUSED],
	    n[T_SKIPPED] + n[T_WAITING] + n[T_CHECKED], code);
	if (!o->json)
		return code;
	summary_begin(&w, &b, o, code == EXIT_OK ? "ok" : "failed", code);
	mg_json_int(&w, "targets", (int64_t)f->t.n);
	{
		size_t ok = 0, failed = 0;

		for (i = 0; i < f->t.n; i++)
			if (f->ts[i].st == T_RAN && f->ts[i].code == EXIT_OK)
				ok++;
			else if (f->ts[i].st == T_RAN &&
			         f->ts[i].code != EXIT_PENDING)
				failed++;
		mg_json_int(&w, "ok", (int64_t)ok);
		mg_json_int(&w, "failed", (int64_t)failed);
	}
	mg_json_int(&w, "refused", (int64_t)n[T_REFUSED]);
	mg_json_int(&w, "skipped",
	            (int64_t)(n[T_SKIPPED] + n[T_WAITING] + n[T_CHECKED]));
	mg_json_end(&w);
	print_json_line(&b);
	return code;
}

int fleet_run(const struct opts *o, const struct command *c)
{
	struct fleet f = { 0 };
	size_t i, n = 0, ncanary;
	size_t *jobs = NULL;
	bool stop, go_on = true;
	int code;

	f.o = o;
	f.c = c;
	if ((code = check_options(&f)) != 0)
		return code;
	if (o->nargs > 0)
		return usage_error(o, "unexpected argument '%s'", o->args[0]);
	if ((code = f.file ? read_targets(&f) : query_targets(&f)) != 0 ||
	    (code = open_source(&f.src, o)) != 0)
		goto cleanup;
	if ((f.ts = calloc(f.t.n, sizeof(*f.ts))) == NULL ||
	    (jobs = calloc(f.t.n, sizeof(*jobs))) == NULL) {
		fprintf(stderr, "error: out of memory\n");
		code = EXIT_RUNTIME;
		goto cleanup;
	}
	/* read-only commands look at every target by default; commands
	 * that write stop at the first failure unless told to go on */
	stop = o->on_failure ? strcmp(o->on_failure, "stop") == 0 : writes(c);
	for (i = 0; i < f.t.n; i++)
		jobs[i] = i;
	if (writes(c)) {
		f.phase = PH_CHECK;
		say(o, "checking %zu target%s\n", f.t.n,
		    f.t.n == 1 ? "" : "s");
		/* every target checked before any runs */
		go_on = batch(&f, jobs, f.t.n, false) || !stop;
	}
	for (i = 0; i < f.t.n; i++)
		if (f.ts[i].st != T_REFUSED)
			jobs[n++] = i;
	f.phase = PH_RUN;
	/* the canaries stop the run at their first failure, whatever the
	 * policy; then the rest go under --on-failure */
	ncanary = (uint64_t)o->canary < n ? (size_t)o->canary : n;
	if (go_on && ncanary > 0) {
		say(o, "canary: %zu target%s first\n", ncanary,
		    ncanary == 1 ? "" : "s");
		go_on = batch(&f, jobs, ncanary, true);
		if (!go_on)
			fprintf(stderr, "canary failed: the other %zu "
			                "target%s are not run\n",
			        n - ncanary, n - ncanary == 1 ? "" : "s");
	}
	if (go_on)
		batch(&f, jobs + ncanary, n - ncanary, stop);
	for (i = 0; i < f.t.n; i++) {
		if (f.ts[i].st == T_WAITING || f.ts[i].st == T_CHECKED) {
			f.ts[i].st = T_SKIPPED;
			f.ts[i].have_to = f.ts[i].have_from;
			f.ts[i].to = f.ts[i].from;
			print_target(&f, i);
		}
	}
	code = summarize(&f);
cleanup:
	for (i = 0; f.ts != NULL && i < f.t.n; i++)
		free(f.ts[i].error);
	free(f.ts);
	free(jobs);
	mg_source_free(f.src);
	mg_targets_dispose(&f.t);
	return code;
}
