#include "support/it.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "migrator/driver.h"
#include "migrator/error.h"

extern char **environ;

#define DEFAULT_TIMEOUT_MS 60000
#define MAX_ARGS 64

/* Unique database names within this process; the pid keeps processes
 * (ctest -j) apart. */
static unsigned db_counter;

long long it_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void it_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

bool contains(const char *haystack, const char *needle)
{
	return haystack != NULL && needle != NULL &&
	       strstr(haystack, needle) != NULL;
}

size_t count_of(const char *haystack, const char *needle)
{
	size_t n = 0, len = needle ? strlen(needle) : 0;
	const char *p = haystack;

	if (p == NULL || len == 0)
		return 0;
	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += len;
	}
	return n;
}

/* ---- files ---- */

static int remove_tree(const char *path)
{
	struct stat sb;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (lstat(path, &sb) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(sb.st_mode))
		return unlink(path);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char *sub;
		size_t n;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		n = strlen(path) + strlen(de->d_name) + 2;
		if ((sub = malloc(n)) == NULL) {
			rc = -1;
			break;
		}
		snprintf(sub, n, "%s/%s", path, de->d_name);
		if (remove_tree(sub) < 0)
			rc = -1;
		free(sub);
	}
	closedir(d);
	if (rmdir(path) < 0)
		rc = -1;
	return rc;
}

static int make_dirs(struct it_env *e)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 200)
		tmp = "/tmp";
	snprintf(e->root, sizeof(e->root), "%s/mg-it-XXXXXX", tmp);
	if (mkdtemp(e->root) == NULL) {
		fprintf(stderr, "it: mkdtemp '%s': %s\n", e->root,
			strerror(errno));
		e->root[0] = '\0';
		return -1;
	}
	snprintf(e->mig, sizeof(e->mig), "%s/migrations", e->root);
	if (mkdir(e->mig, 0755) < 0) {
		fprintf(stderr, "it: mkdir '%s': %s\n", e->mig,
			strerror(errno));
		return -1;
	}
	return 0;
}

int it_write(const struct it_env *e, const char *name, const void *bytes,
	     size_t len)
{
	char path[600];
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s", e->mig, name);
	if ((f = fopen(path, "wb")) == NULL) {
		fprintf(stderr, "it: cannot write '%s': %s\n", path,
			strerror(errno));
		return -1;
	}
	if (len > 0 && fwrite(bytes, 1, len, f) != len)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc < 0)
		fprintf(stderr, "it: cannot write '%s'\n", path);
	return rc;
}

const char UP_A[] = "CREATE TABLE a(x int);\n";
const char UP_B[] = "CREATE TABLE b(x int);\n"
		    "INSERT INTO b VALUES (1), (2);\n";
const char UP_C[] = "CREATE TABLE c(x int);\n";

int it_three(const struct it_env *e)
{
	if (it_pair(e, "0001_a", UP_A, "DROP TABLE a;\n") < 0 ||
	    it_pair(e, "0002_b", UP_B, "DROP TABLE b;\n") < 0 ||
	    it_pair(e, "0003_c", UP_C, "DROP TABLE c;\n") < 0)
		return -1;
	return 0;
}

int it_write_str(const struct it_env *e, const char *name, const char *text)
{
	return it_write(e, name, text, strlen(text));
}

int it_pair(const struct it_env *e, const char *base, const char *up,
	    const char *down)
{
	char name[300];

	snprintf(name, sizeof(name), "%s.up.sql", base);
	if (it_write_str(e, name, up) < 0)
		return -1;
	if (down == NULL)
		return 0;
	snprintf(name, sizeof(name), "%s.down.sql", base);
	return it_write_str(e, name, down);
}

int it_remove(const struct it_env *e, const char *name)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", e->mig, name);
	return unlink(path);
}

char *it_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL, *nb;
	size_t n = 0, cap = 0, got;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

bool it_exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* ---- URLs ---- */

static bool is_pg_url(const char *url)
{
	return strncmp(url, "postgres://", 11) == 0 ||
	       strncmp(url, "postgresql://", 13) == 0;
}

/* Splits a postgres:// URL: [0, userinfo_end) is "scheme://user[:pw]"
 * and so on. Offsets into url. */
struct url_parts {
	size_t scheme_end; /* just after "://" */
	size_t at;         /* index of '@', or SIZE_MAX */
	size_t colon;      /* index of the password's ':', or SIZE_MAX */
	size_t path;       /* index of '/' starting the path, or SIZE_MAX */
	size_t query;      /* index of '?', or strlen(url) */
};

static void split_url(struct url_parts *p, const char *url)
{
	size_t i, auth_end;

	p->scheme_end = (size_t)(strstr(url, "://") - url) + 3;
	auth_end = p->scheme_end + strcspn(url + p->scheme_end, "/?");
	p->at = SIZE_MAX;
	p->colon = SIZE_MAX;
	for (i = p->scheme_end; i < auth_end; i++)
		if (url[i] == '@')
			p->at = i;
	if (p->at != SIZE_MAX)
		for (i = p->scheme_end; i < p->at; i++)
			if (url[i] == ':') {
				p->colon = i;
				break;
			}
	p->path = url[auth_end] == '/' ? auth_end : SIZE_MAX;
	p->query = auth_end + strcspn(url + auth_end, "?");
}

char *it_pg_url_password(const char *url)
{
	struct url_parts p;

	if (!is_pg_url(url))
		return NULL;
	split_url(&p, url);
	if (p.colon == SIZE_MAX)
		return NULL;
	return strndup(url + p.colon + 1, p.at - p.colon - 1);
}

char *it_pg_url(const char *url, const char *dbname, const char *password)
{
	struct url_parts p;
	size_t n = strlen(url) + (dbname ? strlen(dbname) : 0) +
		   (password ? strlen(password) : 0) + 64;
	char *out = malloc(n);
	size_t auth_end;

	if (out == NULL)
		return NULL;
	if (!is_pg_url(url)) {
		/* keyword/value: a later keyword overrides an earlier one */
		snprintf(out, n, "%s%s%s%s%s%s", url,
			 dbname ? " dbname='" : "", dbname ? dbname : "",
			 dbname ? "'" : "", password ? " password=" : "",
			 password ? password : "");
		return out;
	}
	split_url(&p, url);
	auth_end = p.path != SIZE_MAX ? p.path : p.query;
	out[0] = '\0';
	if (password != NULL && p.at != SIZE_MAX) {
		size_t user_end = p.colon != SIZE_MAX ? p.colon : p.at;

		snprintf(out, n, "%.*s%s%s%.*s", (int)user_end, url,
			 *password ? ":" : "", password,
			 (int)(auth_end - p.at), url + p.at);
	} else {
		snprintf(out, n, "%.*s", (int)auth_end, url);
	}
	if (dbname != NULL) {
		snprintf(out + strlen(out), n - strlen(out), "/%s%s", dbname,
			 url + p.query);
	} else {
		snprintf(out + strlen(out), n - strlen(out), "%s",
			 url + auth_end);
	}
	return out;
}

char *it_mysql_url(const char *url, const char *dbname)
{
	const char *auth = strstr(url, "://"), *q, *p, *at = NULL, *slash;
	size_t n;
	char *out;

	if (auth == NULL)
		return NULL;
	auth += 3;
	q = auth + strcspn(auth, "?");
	for (p = auth; p < q; p++)
		if (*p == '@')
			at = p;
	p = at ? at : auth;
	slash = memchr(p, '/', (size_t)(q - p));
	n = strlen(url) + strlen(dbname) + 2;
	if ((out = malloc(n)) == NULL)
		return NULL;
	snprintf(out, n, "%.*s/%s%s", (int)((slash ? slash : q) - url), url,
		 dbname, q);
	return out;
}

/* ---- databases ---- */

static bool is_mysql_url(const char *url)
{
	return url != NULL && strncmp(url, "mysql:", 6) == 0;
}

int it_connect(struct mg_conn **out, const char *url, bool quiet)
{
	const struct mg_driver *drv;
	struct mg_error err = { 0 };

	*out = NULL;
	if (url == NULL || *url == '\0') /* an unset DSN: no server */
		return -1;
	if ((drv = mg_driver_for_url(url, &err)) == NULL ||
	    drv->connect(out, url, 0, &err) < 0) {
		if (!quiet)
			fprintf(stderr, "it: cannot connect: %s (%s)\n",
				err.msg, err.detail);
		return -1;
	}
	return 0;
}

int it_conn_query(struct mg_conn *conn, const char *sql)
{
	struct mg_error err = { 0 };

	if (conn->drv->query(NULL, conn, sql, NULL, 0, 0, &err) < 0) {
		fprintf(stderr, "it: %s: %s\n", sql, err.msg);
		return -1;
	}
	return 0;
}

static int conn_sql(struct mg_conn *conn, const char *sql)
{
	struct mg_script_result res;
	struct mg_error err = { 0 };

	/* no transaction is open: PostgreSQL gets one simple query, which
	 * CREATE DATABASE accepts when it is the only statement */
	if (conn->drv->exec_script(conn, sql, strlen(sql), 0, NULL, &res,
				   &err) < 0) {
		fprintf(stderr, "it: %s: %s\n", sql, err.msg);
		return -1;
	}
	return 0;
}

bool it_pg_reachable(const char *dsn)
{
	struct mg_conn *c;

	if (dsn == NULL || *dsn == '\0' || it_connect(&c, dsn, true) < 0)
		return false;
	c->drv->close(c);
	return true;
}

int it_env_setup_pg(struct it_env *e, const char *admin_dsn)
{
	struct mg_conn *admin = NULL;
	char name[64], sql[128];

	memset(e, 0, sizeof(*e));
	if (make_dirs(e) < 0)
		goto fail;
	if ((e->admin = strdup(admin_dsn)) == NULL)
		goto fail;
	snprintf(name, sizeof(name), "mg_it_%ld_%u", (long)getpid(),
		 ++db_counter);
	if (it_connect(&admin, admin_dsn, false) < 0)
		goto fail;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
		 name);
	if (conn_sql(admin, sql) < 0)
		goto fail;
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	if (conn_sql(admin, sql) < 0)
		goto fail;
	if ((e->dbname = strdup(name)) == NULL ||
	    (e->url = it_pg_url(admin_dsn, name, NULL)) == NULL ||
	    it_connect(&e->conn, e->url, false) < 0)
		goto fail;
	admin->drv->close(admin);
	return 0;
fail:
	if (admin != NULL)
		admin->drv->close(admin);
	it_env_teardown(e);
	return -1;
}

int it_env_setup_mysql(struct it_env *e, const char *admin_dsn)
{
	struct mg_conn *admin = NULL;
	char name[64], sql[128];

	memset(e, 0, sizeof(*e));
	if (make_dirs(e) < 0)
		goto fail;
	if ((e->admin = strdup(admin_dsn)) == NULL)
		goto fail;
	snprintf(name, sizeof(name), "mg_it_%ld_%u", (long)getpid(),
		 ++db_counter);
	if (it_connect(&admin, admin_dsn, false) < 0)
		goto fail;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", name);
	if (it_conn_query(admin, sql) < 0)
		goto fail;
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	if (it_conn_query(admin, sql) < 0)
		goto fail;
	/* from here on the teardown drops it */
	if ((e->dbname = strdup(name)) == NULL ||
	    (e->url = it_mysql_url(admin_dsn, name)) == NULL ||
	    it_connect(&e->conn, e->url, false) < 0)
		goto fail;
	admin->drv->close(admin);
	return 0;
fail:
	if (admin != NULL)
		admin->drv->close(admin);
	it_env_teardown(e);
	return -1;
}

/* MySQL has no DROP DATABASE ... WITH (FORCE): a session a test left in
 * the database (a killed runner's, still in SLEEP()) would hold its
 * metadata lock and the DROP would wait for it, so such sessions are
 * ended first. */
void it_mysql_drop_database(struct mg_conn *admin, const char *db)
{
	struct mg_rows *rows = NULL;
	struct mg_error err = { 0 };
	char sql[256];
	size_t i;

	snprintf(sql, sizeof(sql), "SELECT ID FROM "
		 "information_schema.PROCESSLIST WHERE DB = '%s' AND ID <> "
		 "CONNECTION_ID()", db);
	if (admin->drv->query(&rows, admin, sql, NULL, 0, 0, &err) == 0) {
		for (i = 0; i < rows->nrows; i++) {
			snprintf(sql, sizeof(sql), "KILL %s",
				 mg_rows_get(rows, i, 0));
			/* it may have ended meanwhile */
			admin->drv->query(NULL, admin, sql, NULL, 0, 0, &err);
		}
		mg_rows_free(rows);
	}
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", db);
	it_conn_query(admin, sql);
}

int it_env_setup_sqlite(struct it_env *e)
{
	size_t n;

	memset(e, 0, sizeof(*e));
	if (make_dirs(e) < 0)
		goto fail;
	n = strlen(e->root) + 16;
	if ((e->url = malloc(n)) == NULL)
		goto fail;
	snprintf(e->url, n, "sqlite:%s/t.db", e->root);
	if (it_connect(&e->conn, e->url, false) < 0)
		goto fail;
	return 0;
fail:
	it_env_teardown(e);
	return -1;
}

void it_env_teardown(struct it_env *e)
{
	struct mg_conn *admin = NULL;
	char sql[128];

	if (e->conn != NULL)
		e->conn->drv->close(e->conn);
	if (e->dbname != NULL && e->admin != NULL &&
	    it_connect(&admin, e->admin, false) == 0) {
		if (is_mysql_url(e->admin)) {
			it_mysql_drop_database(admin, e->dbname);
		} else {
			snprintf(sql, sizeof(sql),
				 "DROP DATABASE IF EXISTS %s WITH (FORCE)",
				 e->dbname);
			conn_sql(admin, sql);
		}
		admin->drv->close(admin);
	}
	if (e->root[0] != '\0' && remove_tree(e->root) < 0)
		fprintf(stderr, "it: cannot remove '%s'\n", e->root);
	free(e->url);
	free(e->admin);
	free(e->dbname);
	memset(e, 0, sizeof(*e));
}

struct mg_rows *it_query(const struct it_env *e, const char *sql)
{
	struct mg_rows *rows = NULL;
	struct mg_error err = { 0 };

	if (e->conn->drv->query(&rows, e->conn, sql, NULL, 0, 0, &err) < 0) {
		fprintf(stderr, "it: %s: %s\n", sql, err.msg);
		return NULL;
	}
	return rows;
}

long long it_count(const struct it_env *e, const char *sql)
{
	struct mg_rows *rows = it_query(e, sql);
	const char *v = mg_rows_get(rows, 0, 0);
	long long n = v != NULL ? strtoll(v, NULL, 10) : -1;

	mg_rows_free(rows);
	return n;
}

char *it_value(const struct it_env *e, const char *sql)
{
	struct mg_rows *rows = it_query(e, sql);
	const char *v = mg_rows_get(rows, 0, 0);
	char *copy = v != NULL ? strdup(v) : NULL;

	mg_rows_free(rows);
	return copy;
}

int it_sql(const struct it_env *e, const char *sql)
{
	return conn_sql(e->conn, sql);
}

bool it_table_exists(const struct it_env *e, const char *table)
{
	char sql[256];

	if (strncmp(e->url, "sqlite:", 7) == 0)
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM "
			 "sqlite_master WHERE type = 'table' AND name = '%s'",
			 table);
	else if (is_mysql_url(e->url))
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM "
			 "information_schema.TABLES WHERE TABLE_SCHEMA = "
			 "DATABASE() AND TABLE_NAME = '%s'", table);
	else
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_tables "
			 "WHERE schemaname = current_schema() AND "
			 "tablename = '%s'", table);
	return it_count(e, sql) > 0;
}

long long it_ledger_count(const struct it_env *e, const char *where)
{
	char sql[512];

	if (!it_table_exists(e, "migrate_ledger"))
		return 0;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM migrate_ledger%s%s",
		 where ? " WHERE " : "", where ? where : "");
	return it_count(e, sql);
}

/* ---- checksums ---- */

void it_checksum(char out[65], const void *bytes, size_t len)
{
	const unsigned char *s = bytes;
	unsigned char *norm = malloc(len + 1), h[32];
	size_t i = 0, n = 0;

	if (len >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
		i = 3;
	for (; norm != NULL && i < len; i++) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
			continue;
		norm[n++] = s[i];
	}
	crypto_generichash(h, sizeof(h), norm, n, NULL, 0);
	sodium_bin2hex(out, 65, h, sizeof(h));
	free(norm);
}

bool it_is_hex64(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 64)
		return false;
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* ---- running the binary ---- */

void it_run_dispose(struct it_run *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

static bool env_named(const char *entry, const char *name_eq)
{
	size_t n = strcspn(name_eq, "=");

	return strncmp(entry, name_eq, n) == 0 && entry[n] == '=';
}

/* environ minus what the tests control, plus `extra`; the strings are
 * borrowed, the array is the caller's to free. */
static char **child_env(const char *const *extra)
{
	static const char *const drop[] = { "DATABASE_URL=", "MIGRATE_DIR=",
					    "MIGRATE_SIGNING_KEY=", NULL };
	size_t n = 0, k = 0, i, j;
	char **env;

	while (environ[n])
		n++;
	for (i = 0; extra && extra[i]; i++)
		n++;
	if ((env = calloc(n + 1, sizeof(*env))) == NULL)
		return NULL;
	for (i = 0; environ[i]; i++) {
		bool skip = false;

		for (j = 0; drop[j]; j++)
			skip = skip || env_named(environ[i], drop[j]);
		for (j = 0; extra && extra[j]; j++)
			skip = skip || env_named(environ[i], extra[j]);
		if (!skip)
			env[k++] = environ[i];
	}
	for (i = 0; extra && extra[i]; i++)
		env[k++] = (char *)extra[i];
	return env;
}

static const char *bin_path(void)
{
	const char *bin = getenv("MG_BIN");

	return bin && *bin ? bin : "migrate";
}

/* [MG_BIN, args..., NULL]; the strings are borrowed. */
static char **child_argv(const char *const *args)
{
	size_t n = 0, i;
	char **argv;

	while (args && args[n])
		n++;
	if ((argv = calloc(n + 2, sizeof(*argv))) == NULL)
		return NULL;
	argv[0] = (char *)bin_path();
	for (i = 0; i < n; i++)
		argv[i + 1] = (char *)args[i];
	return argv;
}

struct sbuf {
	char *p;
	size_t n, cap;
};

static int sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	char *np;

	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->n + n + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

static int decode_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

int it_exec(struct it_run *r, const char *cwd, const char *const *env,
	    int timeout_ms, const char *const *args)
{
	struct sbuf out = { 0 }, err = { 0 };
	char **argv = child_argv(args), **envp = child_env(env);
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, status = 0;
	long long deadline;
	pid_t pid;

	it_run_dispose(r);
	r->code = -1;
	if (timeout_ms <= 0)
		timeout_ms = DEFAULT_TIMEOUT_MS;
	if (argv == NULL || envp == NULL || pipe(po) < 0 || pipe(pe) < 0)
		goto done;
	fflush(NULL);
	if ((pid = fork()) < 0)
		goto done;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		close(po[1]);
		close(pe[1]);
		if (cwd != NULL && chdir(cwd) < 0)
			_exit(126);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	deadline = it_now_ms() + timeout_ms;
	while (po[0] >= 0 || pe[0] >= 0) {
		struct pollfd fds[2] = { { po[0], POLLIN, 0 },
					 { pe[0], POLLIN, 0 } };
		long long left = deadline - it_now_ms();
		char buf[4096];
		int i, n;

		if (left <= 0 && !r->timed_out) {
			kill(pid, SIGKILL);
			r->timed_out = true;
		}
		n = poll(fds, 2, left > 0 ? (int)(left < 1000 ? left : 1000) :
						 100);
		if (n < 0 && errno != EINTR)
			break;
		for (i = 0; n > 0 && i < 2; i++) {
			int *fd = i == 0 ? &po[0] : &pe[0];
			ssize_t got;

			if (*fd < 0 || fds[i].revents == 0)
				continue;
			got = read(*fd, buf, sizeof(buf));
			if (got > 0)
				sbuf_add(i == 0 ? &out : &err, buf,
					 (size_t)got);
			else if (got == 0 || errno != EINTR) {
				close(*fd);
				*fd = -1;
			}
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	r->code = decode_status(status);
done:
	if (po[0] >= 0)
		close(po[0]);
	if (pe[0] >= 0)
		close(pe[0]);
	if (po[1] >= 0)
		close(po[1]);
	if (pe[1] >= 0)
		close(pe[1]);
	sbuf_add(&out, "", 0);
	sbuf_add(&err, "", 0);
	r->out = out.p;
	r->err = err.p;
	if (r->timed_out)
		fprintf(stderr, "it: %s timed out after %d ms\n", argv ?
			argv[1] : "migrate", timeout_ms);
	free(argv);
	free(envp);
	return r->code;
}

/* "-d URL -m DIR" then the variadic arguments, into args[]. */
static int collect(const char **args, const struct it_env *e, va_list ap)
{
	const char *a;
	int n = 0;

	args[n++] = "-d";
	args[n++] = e->url;
	args[n++] = "-m";
	args[n++] = e->mig;
	while ((a = va_arg(ap, const char *)) != NULL && n < MAX_ARGS - 1)
		args[n++] = a;
	args[n] = NULL;
	return n;
}

int it_mg(struct it_run *r, const struct it_env *e, ...)
{
	const char *args[MAX_ARGS];
	va_list ap;

	va_start(ap, e);
	collect(args, e, ap);
	va_end(ap);
	return it_exec(r, e->root, NULL, 0, args);
}

int it_mg_env(struct it_run *r, const struct it_env *e,
	      const char *const *env, ...)
{
	const char *args[MAX_ARGS];
	va_list ap;

	va_start(ap, env);
	collect(args, e, ap);
	va_end(ap);
	return it_exec(r, e->root, env, 0, args);
}

static void bg_path(char *out, size_t size, const struct it_env *e,
		    const char *tag, bool err)
{
	snprintf(out, size, "%s/%s.%s", e->root, tag, err ? "err" : "out");
}

pid_t it_mg_bg(const struct it_env *e, const char *tag,
	       const char *const *env, const char *const *args)
{
	const char *all[MAX_ARGS];
	char out_path[400], err_path[400], **argv, **envp;
	size_t n = 0, i;
	pid_t pid;

	all[n++] = "-d";
	all[n++] = e->url;
	all[n++] = "-m";
	all[n++] = e->mig;
	for (i = 0; args && args[i] && n < MAX_ARGS - 1; i++)
		all[n++] = args[i];
	all[n] = NULL;
	bg_path(out_path, sizeof(out_path), e, tag, false);
	bg_path(err_path, sizeof(err_path), e, tag, true);
	argv = child_argv(all);
	envp = child_env(env);
	if (argv == NULL || envp == NULL) {
		free(argv);
		free(envp);
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) == 0) {
		int in = open("/dev/null", O_RDONLY);
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int er = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (in < 0 || o < 0 || er < 0 || dup2(in, 0) < 0 ||
		    dup2(o, 1) < 0 || dup2(er, 2) < 0 || chdir(e->root) < 0)
			_exit(126);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	free(argv);
	free(envp);
	return pid;
}

int it_wait(pid_t pid, int timeout_ms)
{
	long long deadline = it_now_ms() + timeout_ms;
	int status = 0;
	pid_t got;

	for (;;) {
		got = waitpid(pid, &status, WNOHANG);
		if (got == pid)
			return decode_status(status);
		if (got < 0 && errno != EINTR)
			return -1;
		if (it_now_ms() >= deadline)
			break;
		it_sleep_ms(10);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	fprintf(stderr, "it: background run %ld killed after %d ms\n",
		(long)pid, timeout_ms);
	return -1;
}

char *it_bg_output(const struct it_env *e, const char *tag, bool err)
{
	char path[400];
	char *s;

	bg_path(path, sizeof(path), e, tag, err);
	s = it_read_file(path, NULL);
	return s != NULL ? s : strdup("");
}

char *it_status_state(const struct it_env *e, long long version)
{
	struct it_run r = { 0 };
	char key[64], *line = NULL, *state = NULL;
	const char *p;

	snprintf(key, sizeof(key), "{\"version\":%lld,", version);
	if (it_mg(&r, e, "--json", "status", (const char *)NULL) != 0) {
		fprintf(stderr, "it: status failed: %s\n", r.err);
		goto done;
	}
	if ((line = it_line_with(r.out, key)) == NULL ||
	    (p = strstr(line, "\"state\":\"")) == NULL)
		goto done;
	p += strlen("\"state\":\"");
	state = strndup(p, strcspn(p, "\""));
done:
	free(line);
	it_run_dispose(&r);
	return state;
}

/* ---- memory a test hands over ---- */

static void *own(struct it_state *st, void *p, void (*fn)(void *))
{
	size_t cap = sizeof(st->owned) / sizeof(st->owned[0]);

	if (p == NULL)
		return NULL;
	if (st->nowned == cap) {
		fprintf(stderr, "it: more than %zu owned objects\n", cap);
		abort(); /* a test bug: raise the capacity */
	}
	st->owned[st->nowned].p = p;
	st->owned[st->nowned++].free = fn;
	return p;
}

static void free_rows(void *p)
{
	mg_rows_free(p);
}

static void free_lines(void *p)
{
	it_lines_free(p);
}

void *it_own(struct it_state *st, void *p)
{
	return own(st, p, free);
}

struct mg_rows *it_own_rows(struct it_state *st, struct mg_rows *rows)
{
	return own(st, rows, free_rows);
}

char **it_own_lines(struct it_state *st, char **lines)
{
	return own(st, lines, free_lines);
}

void it_state_reset(struct it_state *st)
{
	while (st->nowned > 0) {
		st->nowned--;
		st->owned[st->nowned].free(st->owned[st->nowned].p);
	}
	it_run_dispose(&st->r);
}

/* ---- the per-engine fixture ---- */

int it_group_setup(void **state, enum backend bk)
{
	static const char *const env[] = {
		[BK_SQLITE] = NULL,
		[BK_POSTGRES] = "MG_TEST_PG_DSN",
		[BK_MYSQL] = "MG_TEST_MYSQL_DSN",
	};
	struct it_state *st = calloc(1, sizeof(*st));

	if ((*state = st) == NULL)
		return -1;
	st->bk = bk;
	if (bk == BK_SQLITE)
		return 0; /* no server needed: never skipped */
	st->dsn = getenv(env[bk]);
	if (!it_pg_reachable(st->dsn))
		st->no_server = true; /* each test then calls skip() */
	if (st->no_server)
		fprintf(stderr, "no server at %s\n", env[bk]);
	/* CI always has servers: there, a missing one fails the group */
	return st->no_server && getenv("MG_TEST_REQUIRE_SERVERS") ? -1 : 0;
}

int it_group_setup_sqlite(void **state)
{
	return it_group_setup(state, BK_SQLITE);
}

int it_group_setup_postgres(void **state)
{
	return it_group_setup(state, BK_POSTGRES);
}

int it_group_setup_mysql(void **state)
{
	return it_group_setup(state, BK_MYSQL);
}

int it_group_teardown(void **state)
{
	free(*state);
	*state = NULL;
	return 0;
}

int it_run_engines(const char *suite, const struct CMUnitTest *sqlite,
                   size_t nsqlite, const struct CMUnitTest *postgres,
                   size_t npostgres, const struct CMUnitTest *mysql,
                   size_t nmysql)
{
	char name[128];
	int failed = 0;

	if (sodium_init() < 0 || mg_drivers_init() < 0)
		return 1;
	snprintf(name, sizeof(name), "%s_sqlite", suite);
	failed += _cmocka_run_group_tests(name, sqlite, nsqlite,
	                                  it_group_setup_sqlite,
	                                  it_group_teardown);
	snprintf(name, sizeof(name), "%s_postgres", suite);
	failed += _cmocka_run_group_tests(name, postgres, npostgres,
	                                  it_group_setup_postgres,
	                                  it_group_teardown);
	snprintf(name, sizeof(name), "%s_mysql", suite);
	failed += _cmocka_run_group_tests(name, mysql, nmysql,
	                                  it_group_setup_mysql,
	                                  it_group_teardown);
	mg_drivers_end();
	return failed;
}

int it_setup(void **state)
{
	struct it_state *st = *state;

	if (st->no_server)
		return 0;
	switch (st->bk) {
	case BK_SQLITE:
		return it_env_setup_sqlite(&st->e);
	case BK_POSTGRES:
		return it_env_setup_pg(&st->e, st->dsn);
	case BK_MYSQL:
		return it_env_setup_mysql(&st->e, st->dsn);
	}
	return -1;
}

int it_teardown(void **state)
{
	struct it_state *st = *state;

	it_state_reset(st);
	it_env_teardown(&st->e);
	return 0;
}

/* ---- JSON ---- */

struct jp {
	const char *p;
	int depth;
};

static bool j_value(struct jp *j);

static void j_ws(struct jp *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' ||
	       *j->p == '\r')
		j->p++;
}

static bool j_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static bool j_string(struct jp *j)
{
	if (*j->p != '"')
		return false;
	j->p++;
	for (;;) {
		unsigned char c = (unsigned char)*j->p;

		if (c == '"') {
			j->p++;
			return true;
		}
		if (c < 0x20) /* also the end of the text */
			return false;
		if (c == '\\') {
			j->p++;
			if (*j->p == 'u') {
				int i;

				for (i = 1; i <= 4; i++)
					if (!j_hex(j->p[i]))
						return false;
				j->p += 5;
				continue;
			}
			if (!strchr("\"\\/bfnrt", *j->p) || *j->p == '\0')
				return false;
		}
		j->p++;
	}
}

static bool j_digits(struct jp *j)
{
	const char *s = j->p;

	while (*j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

static bool j_number(struct jp *j)
{
	if (*j->p == '-')
		j->p++;
	if (*j->p == '0')
		j->p++;
	else if (!j_digits(j))
		return false;
	if (*j->p == '.') {
		j->p++;
		if (!j_digits(j))
			return false;
	}
	if (*j->p == 'e' || *j->p == 'E') {
		j->p++;
		if (*j->p == '+' || *j->p == '-')
			j->p++;
		if (!j_digits(j))
			return false;
	}
	return true;
}

static bool j_list(struct jp *j, char close, bool keys)
{
	j->p++;
	if (++j->depth > 64)
		return false;
	j_ws(j);
	if (*j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		j_ws(j);
		if (keys) {
			if (!j_string(j))
				return false;
			j_ws(j);
			if (*j->p++ != ':')
				return false;
		}
		if (!j_value(j))
			return false;
		j_ws(j);
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p != close)
			return false;
		j->p++;
		j->depth--;
		return true;
	}
}

static bool j_word(struct jp *j, const char *w)
{
	if (strncmp(j->p, w, strlen(w)) != 0)
		return false;
	j->p += strlen(w);
	return true;
}

static bool j_value(struct jp *j)
{
	j_ws(j);
	switch (*j->p) {
	case '{':
		return j_list(j, '}', true);
	case '[':
		return j_list(j, ']', false);
	case '"':
		return j_string(j);
	case 't':
		return j_word(j, "true");
	case 'f':
		return j_word(j, "false");
	case 'n':
		return j_word(j, "null");
	default:
		return j_number(j);
	}
}

bool it_json_object(const char *s)
{
	struct jp j = { s, 0 };

	if (s == NULL || *s != '{' || !j_value(&j))
		return false;
	return *j.p == '\0';
}

char **it_lines(const char *text, size_t *n)
{
	char **v = calloc(count_of(text, "\n") + 2, sizeof(*v));
	const char *p = text, *nl;
	size_t k = 0, len;

	*n = 0;
	if (v == NULL)
		return NULL;
	while (p != NULL && *p) {
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		if (len > 0 && (v[k++] = strndup(p, len)) == NULL) {
			it_lines_free(v);
			return NULL;
		}
		p = nl ? nl + 1 : NULL;
	}
	*n = k;
	return v;
}

void it_drop_progress(char **lines, size_t *n)
{
	size_t i, k;

	for (i = k = 0; lines != NULL && i < *n; i++) {
		if (strstr(lines[i], "\"event\":\"progress\"") != NULL) {
			free(lines[i]);
			continue;
		}
		lines[k++] = lines[i];
	}
	if (lines != NULL)
		lines[k] = NULL;
	*n = k;
}

void it_lines_free(char **lines)
{
	size_t i;

	for (i = 0; lines != NULL && lines[i] != NULL; i++)
		free(lines[i]);
	free(lines);
}

bool it_json_lines(const char *text, bool need_event)
{
	size_t n, i;
	char **lines = it_lines(text, &n);
	bool ok = lines != NULL;

	for (i = 0; ok && i < n; i++) {
		ok = it_json_object(lines[i]) &&
		     (!need_event || strstr(lines[i], "\"event\":") != NULL);
		if (!ok)
			fprintf(stderr, "it: not a JSON object%s: %s\n",
				need_event ? " with an \"event\"" : "",
				lines[i]);
	}
	it_lines_free(lines);
	return ok;
}

char *it_line_with(const char *text, const char *needle)
{
	const char *hit, *start, *end;

	if (text == NULL || (hit = strstr(text, needle)) == NULL)
		return NULL;
	for (start = hit; start > text && start[-1] != '\n'; start--)
		;
	end = hit + strcspn(hit, "\n");
	return strndup(start, (size_t)(end - start));
}
