/*
 * migrate.conf. inih reads the lines (a well-kept parser of the format,
 * packaged by Debian as libinih); this file says what they mean.
 */
#include "cmd/config.h"

#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/options.h"
#include "migrator/bounds.h"
#include "migrator/buf.h"
#include "migrator/drivers/url.h"
#include "migrator/json.h"

static const struct {
	const char *key;
	const char *env;  /* its environment variable, or NULL */
	const char *dflt; /* NULL: unset */
} settings[SET_COUNT] = {
	[SET_DATABASE] = { "database", "DATABASE_URL", NULL },
	[SET_DIR] = { "dir", "MIGRATE_DIR", "migrations" },
	[SET_LEDGER_TABLE] = { "ledger-table", NULL, "migrate_ledger" },
	[SET_LOCK_TIMEOUT] = { "lock-timeout", NULL, "60" },
	[SET_SIGNING_KEY] = { "signing-key", "MIGRATE_SIGNING_KEY", NULL },
	/* `new` versions pairs YYYYMMDDHHMMSS, as --timestamp does */
	[SET_NEW_TIMESTAMP] = { "new-timestamp", NULL, "false" },
	/* fleets: a file of target URLs (cmd/fleet.c) */
	[SET_TARGETS] = { "targets", NULL, NULL },
	/* jobs (issue 11); unset: jobs/ in the migrations directory */
	[SET_JOBS_DIR] = { "jobs-dir", NULL, NULL },
	/* production safety */
	[SET_DDL_LOCK_TIMEOUT] = { "ddl-lock-timeout", NULL, "5s" },
	[SET_STATEMENT_TIMEOUT] = { "statement-timeout", NULL, NULL },
	[SET_RETRIES] = { "retries", NULL, "3" },
};

/* One scope of the file: its top, or the chosen [env NAME] section. */
struct scope {
	char *raw[SET_COUNT]; /* as written, before ${VAR} */
	unsigned line[SET_COUNT];
};

struct reader {
	FILE *f;
	unsigned line; /* of the line inih read last */
	bool midline;  /* the last read stopped inside an over-long line */
	const char *env;
	bool env_seen;
	struct scope top, sect;
	char err[512]; /* the first problem */
	unsigned err_line;
};

static int problem(struct reader *rd, const char *fmt, ...) MG_PRINTF(2, 3);

/* inih's reader, counting lines for the messages; it also checks section
 * headers, which inih does not report when nothing follows them. */
static char *read_line(char *str, int num, void *stream)
{
	struct reader *rd = stream;
	long before = ftell(rd->f), after;
	char *s = fgets(str, num, rd->f), *p;
	size_t len;

	if (s == NULL)
		return NULL;
	after = ftell(rd->f);
	len = strlen(s);
	/* the rest of an over-long line is not a line of its own, so the
	 * numbers stay right; both a NUL byte (fgets reads past it, the
	 * string ends at it) and an over-long line are refused, never
	 * silently cut */
	if (!rd->midline)
		rd->line++;
	rd->midline = len > 0 && s[len - 1] != '\n' && !feof(rd->f);
	if (before >= 0 && after >= 0 && (size_t)(after - before) > len)
		problem(rd, "a NUL byte in the line");
	else if (rd->midline)
		problem(rd, "a line longer than %d bytes", num - 2);
	for (p = s; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '[' && strncmp(p, "[env ", 5) != 0)
		problem(rd, "unknown section: sections are [env NAME]");
	return s;
}

static int problem(struct reader *rd, const char *fmt, ...)
{
	va_list ap;

	if (rd->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(rd->err, sizeof(rd->err), fmt, ap);
		va_end(ap);
		rd->err_line = rd->line;
	}
	return 0; /* inih: an error on this line */
}

static int on_entry(void *user, const char *section, const char *name,
                    const char *value)
{
	struct reader *rd = user;
	struct scope *sc = &rd->top;
	int s;

	if (section[0] != '\0') {
		if (strncmp(section, "env ", 4) != 0 || section[4] == '\0')
			return problem(rd,
			               "unknown section [%s]: sections are "
			               "[env NAME]",
			               section);
		if (rd->env != NULL && strcmp(section + 4, rd->env) == 0) {
			rd->env_seen = true;
			sc = &rd->sect;
		} else {
			sc = NULL; /* another environment's: checked only */
		}
	}
	for (s = 0; s < SET_COUNT; s++)
		if (strcmp(name, settings[s].key) == 0)
			break;
	if (s == SET_COUNT) {
		return problem(rd,
		               "unknown key '%s': keys are database, dir, "
		               "ledger-table, lock-timeout, signing-key, "
		               "new-timestamp, targets, jobs-dir, ddl-lock-timeout, "
		               "statement-timeout, retries",
		               name);
	}
	if (sc == NULL)
		return 1;
	if (sc->raw[s] != NULL)
		return problem(rd, "'%s' is set twice (first on line %u)",
		               name, sc->line[s]);
	if ((sc->raw[s] = strdup(value)) == NULL)
		return problem(rd, "out of memory");
	sc->line[s] = rd->line;
	return 1;
}

/* Replaces each ${VAR} with the environment's value; -1 naming the
 * variable in `missing` when one is not set, -2 for a '${' that is not
 * closed. */
static int expand(struct mg_buf *out, const char *raw, char *missing,
                  size_t size)
{
	const char *p = raw, *open, *close;

	while ((open = strstr(p, "${")) != NULL &&
	       (close = strchr(open + 2, '}')) != NULL) {
		char name[128];
		const char *v;

		mg_buf_addn(out, p, (size_t)(open - p));
		snprintf(name, sizeof(name), "%.*s", (int)(close - open - 2),
		         open + 2);
		if ((v = getenv(name)) == NULL) {
			snprintf(missing, size, "%s", name);
			return -1;
		}
		mg_buf_add(out, v);
		p = close + 1;
	}
	/* "${VAR" with no '}': a typo, not text to pass on (it reached
	 * the URL parser as "unknown database URL scheme", no line) */
	if (strstr(p, "${") != NULL) {
		snprintf(missing, size, "%s", "");
		return -2;
	}
	mg_buf_add(out, p);
	return 0;
}

static int fail(const struct opts *o, const char *path, unsigned line,
                const char *fmt, ...) MG_PRINTF(4, 5);

static int fail(const struct opts *o, const char *path, unsigned line,
                const char *fmt, ...)
{
	struct mg_error err = { 0 };
	va_list ap;

	err.code = MG_EINVALID;
	va_start(ap, fmt);
	vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
	va_end(ap);
	if (path != NULL)
		mg_error_locate(&err, path, line);
	return report(o, &err);
}

static int read_file(struct reader *rd, const struct opts *o,
                     const char *path)
{
	int rc;

	if ((rd->f = fopen(path, "r")) == NULL)
		return fail(o, NULL, 0, "cannot read config file '%s': %s",
		            path, strerror(errno));
	rc = ini_parse_stream(read_line, rd, on_entry, rd);
	fclose(rd->f);
	rd->f = NULL;
	if (rd->err[0] != '\0')
		return fail(o, path, rd->err_line, "%s", rd->err);
	if (rc != 0)
		return fail(o, path, rc > 0 ? (unsigned)rc : 0,
		            "not a 'key = value' line, a [env NAME] section "
		            "or a comment");
	if (o->env != NULL && !rd->env_seen)
		return fail(o, path, 0, "no section [env %s]", o->env);
	return 0;
}

/* The value a flag set, as text; NULL when no flag did. */
static const char *flag_value(const struct opts *o, enum setting s,
                              char num[32])
{
	switch (s) {
	case SET_DATABASE:
		return o->database;
	case SET_DIR:
		return o->dir;
	case SET_LEDGER_TABLE:
		return o->table;
	case SET_LOCK_TIMEOUT:
		if (o->lock_timeout < 0)
			return NULL;
		snprintf(num, 32, "%" PRId64, o->lock_timeout);
		return num;
	case SET_NEW_TIMESTAMP:
		return o->timestamp ? "true" : NULL;
	case SET_TARGETS:
		return o->targets;
	case SET_JOBS_DIR:
		return o->jobs_dir;
	case SET_DDL_LOCK_TIMEOUT:
		return o->ddl_lock_timeout;
	case SET_STATEMENT_TIMEOUT:
		return o->statement_timeout;
	case SET_RETRIES:
		if (o->retries < 0)
			return NULL;
		snprintf(num, 32, "%" PRId64, o->retries);
		return num;
	case SET_SIGNING_KEY:
	case SET_COUNT:
		break;
	}
	return NULL;
}

static void apply(struct opts *o, enum setting s, const char *v)
{
	switch (s) {
	case SET_DATABASE:
		o->database = v;
		break;
	case SET_DIR:
		o->dir = v;
		break;
	case SET_LEDGER_TABLE:
		o->table = v;
		break;
	case SET_LOCK_TIMEOUT:
		o->lock_timeout = duration_seconds(v);
		break;
	case SET_SIGNING_KEY:
		o->signing_key = v;
		break;
	case SET_NEW_TIMESTAMP:
		o->timestamp = strcmp(v, "true") == 0;
		break;
	case SET_TARGETS:
		o->targets = v;
		break;
	case SET_JOBS_DIR:
		o->jobs_dir = v;
		break;
	case SET_DDL_LOCK_TIMEOUT:
		o->ddl_lock_timeout = v;
		break;
	case SET_STATEMENT_TIMEOUT:
		o->statement_timeout = v;
		break;
	case SET_RETRIES:
		o->retries = strtoll(v, NULL, 10);
		break;
	case SET_COUNT:
		break;
	}
}

/* Production safety's settings: NULL when v is a right value for s,
 * else what it takes. */
static const char *bad_value(enum setting s, const char *v)
{
	int64_t ms;
	char *end;
	long long n;

	switch (s) {
	case SET_DDL_LOCK_TIMEOUT:
	case SET_STATEMENT_TIMEOUT:
		if (mg_bounds_parse(&ms, v, true) == 0)
			return NULL;
		return "a duration such as 2s, 500ms or 10m, or off";
	case SET_RETRIES:
		n = strtoll(v, &end, 10);
		if (*v >= '0' && *v <= '9' && *end == '\0' && n <= 10)
			return NULL;
		return "a count from 0 to 10";
	default:
		return NULL;
	}
}

/* Takes setting s from the file's scope sc: 0 when taken, -1 when it is
 * not set there, or an exit code after reporting a bad value. */
static int from_file(struct config *cfg, struct opts *o, enum setting s,
                     const struct scope *sc, const char *where)
{
	struct mg_buf v = MG_BUF_INIT;
	char missing[128], *shown;
	int rc;

	if (sc->raw[s] == NULL)
		return -1;
	if ((rc = expand(&v, sc->raw[s], missing, sizeof(missing))) < 0) {
		mg_buf_dispose(&v);
		if (rc == -2)
			return fail(o, cfg->path, sc->line[s],
			            "'${' without its '}'");
		return fail(o, cfg->path, sc->line[s],
		            "${%s} is not set in the environment", missing);
	}
	if (mg_buf_check(&v, NULL) < 0)
		return fail(o, cfg->path, sc->line[s], "out of memory");
	if (s == SET_NEW_TIMESTAMP && strcmp(v.ptr, "true") != 0 &&
	    strcmp(v.ptr, "false") != 0) {
		mg_buf_dispose(&v);
		return fail(o, cfg->path, sc->line[s],
		            "new-timestamp takes true or false");
	}
	if (s == SET_LOCK_TIMEOUT && duration_seconds(v.ptr) < 0) {
		mg_buf_dispose(&v);
		return fail(o, cfg->path, sc->line[s],
		            "lock-timeout takes a duration such as 30s, 500ms "
		            "or 2m");
	}
	if (bad_value(s, v.ptr) != NULL) {
		char what[64];

		snprintf(what, sizeof(what), "%s", bad_value(s, v.ptr));
		mg_buf_dispose(&v);
		return fail(o, cfg->path, sc->line[s], "%s takes %s",
		            settings[s].key, what);
	}
	if (s == SET_DATABASE && strstr(sc->raw[s], "${") == NULL &&
	    (shown = mg_url_redact(sc->raw[s])) != NULL) {
		if (strcmp(shown, sc->raw[s]) != 0)
			fprintf(stderr,
			        "%s:%u: warning: the database URL holds its "
			        "password: write ${VAR} and set VAR in the "
			        "environment\n",
			        cfg->path, sc->line[s]);
		free(shown);
	}
	cfg->value[s] = mg_buf_detach(&v);
	apply(o, s, cfg->value[s]);
	snprintf(cfg->origin[s], sizeof(cfg->origin[s]), "%s:%u%s", cfg->path,
	         sc->line[s], where);
	return 0;
}

/* A golang-migrate URL works as it is: tcp(host:port), and its
 * x-migrations-table naming the ledger unless a setting already does. */
static int golang_migrate_url(struct config *cfg, struct opts *o)
{
	struct mg_error err = { 0 };

	if (o->database == NULL)
		return 0;
	if (mg_url_from_golang_migrate(&cfg->url, &cfg->url_table, o->database,
	                               &err) < 0)
		return report(o, &err);
	if (cfg->url != NULL)
		o->database = cfg->url;
	if (cfg->url_table == NULL)
		return 0;
	if (strcmp(cfg->origin[SET_LEDGER_TABLE], "default") != 0 &&
	    strcmp(o->table, cfg->url_table) != 0)
		return fail(o, NULL, 0,
		            "the URL's x-migrations-table says '%s', but the "
		            "ledger table is '%s' (%s)",
		            cfg->url_table, o->table,
		            cfg->origin[SET_LEDGER_TABLE]);
	o->table = cfg->url_table;
	snprintf(cfg->origin[SET_LEDGER_TABLE],
	         sizeof(cfg->origin[SET_LEDGER_TABLE]),
	         "the URL's x-migrations-table");
	return 0;
}

/* jobs/ inside the migrations directory (SPEC.md, "Jobs") */
static int default_jobs_dir(struct config *cfg, struct opts *o)
{
	struct mg_buf v = MG_BUF_INIT;
	size_t n = strlen(o->dir);

	while (n > 1 && o->dir[n - 1] == '/')
		n--;
	mg_buf_addn(&v, o->dir, n);
	mg_buf_add(&v, "/jobs");
	if (mg_buf_check(&v, NULL) < 0)
		return fail(o, NULL, 0, "out of memory");
	cfg->value[SET_JOBS_DIR] = mg_buf_detach(&v);
	o->jobs_dir = cfg->value[SET_JOBS_DIR];
	snprintf(cfg->origin[SET_JOBS_DIR], sizeof(cfg->origin[SET_JOBS_DIR]),
	         "default (jobs/ in dir)");
	return 0;
}

int config_load(struct config *cfg, struct opts *o)
{
	struct reader rd = { 0 };
	char num[32], where[160];
	const char *path = o->config_file;
	int s, code = 0;

	memset(cfg, 0, sizeof(*cfg));
	o->config = cfg;
	rd.env = o->env;
	if (path == NULL && access("migrate.conf", F_OK) == 0)
		path = "migrate.conf";
	if (path == NULL && o->env != NULL)
		return fail(o, NULL, 0,
		            "--env %s, but there is no migrate.conf here (or "
		            "--config FILE)",
		            o->env);
	if (path != NULL && ((cfg->path = strdup(path)) == NULL ||
	                     (code = read_file(&rd, o, path)) != 0))
		goto cleanup;
	snprintf(where, sizeof(where), " [env %s]", o->env ? o->env : "");
	for (s = 0; s < SET_COUNT && code == 0; s++) {
		const char *env = settings[s].env ? getenv(settings[s].env)
		                                  : NULL;
		int rc;

		if (flag_value(o, s, num) != NULL) {
			const char *fv = flag_value(o, s, num);

			if (bad_value(s, fv) != NULL) {
				code = usage_error(o, "--%s takes %s, not '%s'",
				                   settings[s].key,
				                   bad_value(s, fv), fv);
				break;
			}
			snprintf(cfg->origin[s], sizeof(cfg->origin[s]),
			         "flag");
		} else if (s == SET_TARGETS &&
		           strcmp(cfg->origin[SET_DATABASE], "flag") == 0) {
			/* -d on the command line beats a file's fleet: one
			 * database, as asked */
			snprintf(cfg->origin[s], sizeof(cfg->origin[s]),
			         "not used: -d was given");
		} else if (env != NULL && *env != '\0') {
			apply(o, s, env);
			snprintf(cfg->origin[s], sizeof(cfg->origin[s]),
			         "environment (%s)", settings[s].env);
		} else {
			if ((rc = from_file(cfg, o, s, &rd.sect, where)) < 0)
				rc = from_file(cfg, o, s, &rd.top, "");
			if (rc > 0) {
				code = rc;
			} else if (rc < 0) {
				if (settings[s].dflt != NULL)
					apply(o, s, settings[s].dflt);
				snprintf(cfg->origin[s],
				         sizeof(cfg->origin[s]), "default");
			}
		}
	}
	if (code == 0)
		code = golang_migrate_url(cfg, o);
	if (code == 0 && o->jobs_dir == NULL)
		code = default_jobs_dir(cfg, o);
cleanup:
	for (s = 0; s < SET_COUNT; s++) {
		free(rd.top.raw[s]);
		free(rd.sect.raw[s]);
	}
	return code;
}

void config_dispose(struct config *cfg)
{
	int s;

	for (s = 0; s < SET_COUNT; s++)
		free(cfg->value[s]);
	free(cfg->url);
	free(cfg->url_table);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

/* The settings as `migrate config` shows them; to f, one line each, when
 * f is not NULL (--verbose). */
static void show(const struct opts *o, FILE *f)
{
	const struct config *cfg = o->config;
	struct mg_buf b = MG_BUF_INIT;
	struct mg_json w;
	char num[32];
	int s;

	for (s = 0; s < SET_COUNT; s++) {
		const char *v = NULL;
		char *shown = NULL;

		switch (s) {
		case SET_DATABASE:
			v = o->database;
			break;
		case SET_DIR:
			v = o->dir;
			break;
		case SET_LEDGER_TABLE:
			v = o->table;
			break;
		case SET_LOCK_TIMEOUT:
			snprintf(num, sizeof(num), "%" PRId64 "s",
			         o->lock_timeout);
			v = num;
			break;
		case SET_SIGNING_KEY:
			v = o->signing_key;
			break;
		case SET_NEW_TIMESTAMP:
			v = o->timestamp ? "true" : "false";
			break;
		case SET_TARGETS:
			v = o->targets;
			break;
		case SET_JOBS_DIR:
			v = o->jobs_dir;
			break;
		case SET_DDL_LOCK_TIMEOUT:
			v = o->ddl_lock_timeout;
			break;
		case SET_STATEMENT_TIMEOUT:
			v = o->statement_timeout ? o->statement_timeout
			                         : "none";
			break;
		case SET_RETRIES:
			snprintf(num, sizeof(num), "%" PRId64, o->retries);
			v = num;
			break;
		}
		/* never the password: the URL as mg_url_redact shows it */
		if (s == SET_DATABASE && v != NULL)
			v = shown = mg_url_redact(v);
		if (f != NULL) {
			fprintf(f, "setting %s = %s (%s)\n", settings[s].key,
			        v ? v : "(unset)", cfg->origin[s]);
		} else if (o->json) {
			mg_buf_truncate(&b, 0);
			mg_json_init(&w, &b);
			mg_json_object_begin(&w, NULL);
			mg_json_string(&w, "setting", settings[s].key);
			mg_json_string(&w, "value", v);
			mg_json_string(&w, "from", cfg->origin[s]);
			mg_json_end(&w);
			print_json_line(&b);
		} else {
			printf("%-17s %-40s %s\n", settings[s].key,
			       v ? v : "(unset)", cfg->origin[s]);
		}
		free(shown);
	}
	mg_buf_dispose(&b);
}

void config_verbose(const struct opts *o)
{
	if (o->verbose && !o->quiet && o->config != NULL)
		show(o, stderr);
}

int cmd_config(const struct opts *o)
{
	if (o->nargs > 0)
		return usage_error(o, "unexpected argument '%s'", o->args[0]);
	show(o, NULL);
	return EXIT_OK;
}
