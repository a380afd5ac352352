#ifndef MG_TESTS_IT_H
#define MG_TESTS_IT_H

/*
 * Helpers for the integration tests (tests/it_*.c): a temp dir per test
 * with a migrations/ subdirectory, a fresh database per test, the built
 * binary (MG_BIN) run with its stdout and stderr captured, and queries
 * through the project's own drivers for the assertions.
 *
 * Nothing here uses cmocka, so that a failure is reported by the test
 * that asserts on it. Functions that can fail print why on stderr.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct mg_conn;
struct mg_rows;

/* Everything one test works in; it_env_teardown() frees it all. */
struct it_env {
	char root[256];      /* the test's temp dir: the binary's cwd */
	char mig[300];       /* root/migrations, passed as -m */
	char *url;           /* the test's database, passed as -d */
	char *admin;         /* the server's DSN; NULL on SQLite */
	char *dbname;        /* the test's database; NULL on SQLite */
	struct mg_conn *conn; /* the test's own connection to url */
};

/*
 * A new temp dir and a new database: on PostgreSQL and MySQL a database
 * of its own (mg_it_<pid>_<n>, created through `admin_dsn`, so that
 * `ctest -j` is safe), on SQLite the file root/t.db. Returns 0, or -1
 * after printing why (the env is then torn down already).
 */
int it_env_setup_pg(struct it_env *e, const char *admin_dsn);
int it_env_setup_mysql(struct it_env *e, const char *admin_dsn);
int it_env_setup_sqlite(struct it_env *e);
/* Drops the database (PostgreSQL: WITH (FORCE); MySQL: as below),
 * removes the temp dir; accepts an env that was never set up (all
 * zero). */
void it_env_teardown(struct it_env *e);
/* Ends the sessions still in MySQL database `db` (a killed runner's, say),
 * then drops it through `admin`; errors are printed, not returned. */
void it_mysql_drop_database(struct mg_conn *admin, const char *db);

/* True when `dsn` accepts a connection (for the group setup). */
bool it_pg_reachable(const char *dsn);

/*
 * `url` with the database name replaced by `dbname` (NULL: keep) and the
 * password by `password` (NULL: keep; "": drop it from a URL). Handles
 * postgres:// URLs and keyword/value strings. The caller frees the
 * result; NULL on failure.
 */
char *it_pg_url(const char *url, const char *dbname, const char *password);
/* The password in a postgres:// URL, or NULL. Caller frees. */
char *it_pg_url_password(const char *url);
/* A mysql://[userinfo@]host[:port][/db][?query] URL with the database
 * `dbname`, the rest kept. The caller frees the result; NULL on failure. */
char *it_mysql_url(const char *url, const char *dbname);

/* Writes `len` bytes to root/migrations/name (replacing it). 0 or -1. */
int it_write(const struct it_env *e, const char *name, const void *bytes,
	     size_t len);
/* The same with a NUL-terminated string. */
int it_write_str(const struct it_env *e, const char *name, const char *text);
/* Writes the pair <base>.up.sql and <base>.down.sql; down NULL: no down
 * file. 0 or -1. */
int it_pair(const struct it_env *e, const char *base, const char *up,
	    const char *down);
/* Removes root/migrations/name. 0 or -1. */
int it_remove(const struct it_env *e, const char *name);
/* Reads a whole file; NUL-terminated, caller frees; NULL if unreadable. */
char *it_read_file(const char *path, size_t *len);
/* True when the file exists. */
bool it_exists(const char *path);

/* The three plain migrations most tests start from: UP_A creates table
 * a, UP_B table b with two rows, UP_C table c. it_three() writes them as
 * 0001_a, 0002_b and 0003_c, each with its DROP TABLE down file; 0 or -1
 * (tests use the three() macro). */
extern const char UP_A[], UP_B[], UP_C[];
int it_three(const struct it_env *e);

/* The header line of `migrate ledger --csv`. */
#define CSV_HEADER                                                            \
	"id,version,name,direction,status,up_checksum,down_checksum,"        \
	"started_at,finished_at,duration_ms,db_user,os_user,host,"            \
	"tool_version,checks,error,reason,prev_hash,entry_hash,signature\n"

/* One finished run of the binary. Reuse it: each run frees the last. */
struct it_run {
	int code;  /* exit status; 128+N when killed by signal N; -1 error */
	bool timed_out;
	char *out; /* stdout, NUL-terminated, never NULL after a run */
	char *err; /* stderr, likewise */
};
void it_run_dispose(struct it_run *r);

/*
 * Runs MG_BIN with `args` (NULL-terminated, not counting the program
 * name) in directory `cwd`, with the test's environment minus
 * DATABASE_URL, MIGRATE_DIR and MIGRATE_SIGNING_KEY, plus `env`
 * ("NAME=value" strings, NULL-terminated; may be NULL). After timeout_ms
 * (0: 60 s) the child is killed, r->timed_out set. Returns r->code.
 */
int it_exec(struct it_run *r, const char *cwd, const char *const *env,
	    int timeout_ms, const char *const *args);

/* it_exec of `migrate -d URL -m DIR ARGS...` in e->root; the variadic
 * list ends with NULL (use the IT_MG macro of the tests). */
int it_mg(struct it_run *r, const struct it_env *e, ...);
/* The same with extra environment entries. */
int it_mg_env(struct it_run *r, const struct it_env *e,
	      const char *const *env, ...);

/*
 * Starts `migrate -d URL -m DIR ARGS...` in the background, its stdout and
 * stderr going to root/<tag>.out and root/<tag>.err. Returns the pid (the
 * binary itself, no shell between), or -1.
 */
pid_t it_mg_bg(const struct it_env *e, const char *tag,
	       const char *const *env, const char *const *args);
/* Waits for a background run: its exit code (128+N for signal N), or -1
 * after timeout_ms, when it is killed (and reaped). */
int it_wait(pid_t pid, int timeout_ms);
/* The stdout/stderr a background run left; caller frees; never NULL. */
char *it_bg_output(const struct it_env *e, const char *tag, bool err);

/* True when `needle` occurs in `haystack` (NULL haystack: false). */
bool contains(const char *haystack, const char *needle);
/* How often `needle` occurs in `haystack`. */
size_t count_of(const char *haystack, const char *needle);

/*
 * Queries through the test's own connection. it_query: the rows, which
 * the caller frees with mg_rows_free(); NULL on error (printed).
 * it_count: the first cell of the first row as a number; -1 on error or
 * no row. it_sql: runs statements outside any transaction; 0 or -1.
 * it_value: a copy of the first cell (NULL on error, no row, SQL NULL).
 */
/* A connection by URL through the project's drivers; 0 or -1 (with a
 * message on stderr unless quiet). */
int it_connect(struct mg_conn **out, const char *url, bool quiet);
/* One statement of ours on conn, its rows dropped; 0 or -1 (stderr). */
int it_conn_query(struct mg_conn *conn, const char *sql);

struct mg_rows *it_query(const struct it_env *e, const char *sql);
long long it_count(const struct it_env *e, const char *sql);
int it_sql(const struct it_env *e, const char *sql);
char *it_value(const struct it_env *e, const char *sql);
/* The state `migrate status --json` gives `version` (a copy, caller
 * frees), or NULL when the run fails or does not list it. */
char *it_status_state(const struct it_env *e, long long version);
/* Does this table exist (in the current schema or database)? */
bool it_table_exists(const struct it_env *e, const char *table);
/* Rows of migrate_ledger matching `where` (SQL, may be NULL: all); 0
 * when the ledger does not exist yet; -1 on error. */
long long it_ledger_count(const struct it_env *e, const char *where);

/* The SPEC.md checksum of file bytes: BLAKE2b-256 after dropping a
 * leading UTF-8 BOM and turning CRLF into LF, 64 lower-case hex digits.
 * Computed here independently of migrator/checksum.c. */
void it_checksum(char out[65], const void *bytes, size_t len);
/* True when s is 64 lower-case hex digits. */
bool it_is_hex64(const char *s);

/*
 * A small strict JSON checker: true when `s` (one line, no newline) is
 * exactly one JSON object and nothing else.
 */
bool it_json_object(const char *s);
/* True when every line of `text` is a JSON object (it_json_object),
 * each with an "event" key if `need_event`; prints the first bad one. */
bool it_json_lines(const char *text, bool need_event);
/* The non-empty lines of `text`, copied: lines[0..*n), NULL-terminated;
 * free with it_lines_free(). NULL on out-of-memory. */
char **it_lines(const char *text, size_t *n);
void it_lines_free(char **lines);
/* Drops the {"event":"progress",...} lines (issue 14) from lines[0..*n),
 * in place, keeping the order of the rest: their number depends on
 * timing, and it_safety.c tests them. */
void it_drop_progress(char **lines, size_t *n);
/* The line of `text` that contains `needle`, copied (caller frees), or
 * NULL. */
char *it_line_with(const char *text, const char *needle);

/* Milliseconds of a monotonic clock. */
long long it_now_ms(void);
void it_sleep_ms(int ms);

/*
 * For the cmocka tests (include <cmocka.h> before this point of use).
 * Each test file keeps one struct it_state as cmocka's group state; its
 * setup() fills `e`, its teardown() frees `e` and `r`, so that a failed
 * assertion, which jumps out of the test, leaks nothing.
 */
/* The engines a test body runs on: one cmocka group each. */
enum backend { BK_SQLITE, BK_POSTGRES, BK_MYSQL };

struct it_state {
	bool no_server;
	enum backend bk; /* the group's engine (it_group_setup_*) */
	const char *dsn;
	struct it_env e; /* the running test's */
	struct it_run r; /* its last run */
	struct {
		void *p;
		void (*free)(void *p);
	} owned[64]; /* what the test allocated: see it_own() */
	size_t nowned;
};

/*
 * Hand memory to the test's state, to be freed by it_state_reset() in the
 * teardown whatever the test's outcome. Each returns its argument.
 */
void *it_own(struct it_state *st, void *p);
struct mg_rows *it_own_rows(struct it_state *st, struct mg_rows *rows);
char **it_own_lines(struct it_state *st, char **lines);
/* Frees the run and all that was owned; the env stays. */
void it_state_reset(struct it_state *st);

/*
 * The per-engine fixture of the suites that run one body on SQLite,
 * PostgreSQL and MariaDB/MySQL (see it_core.c): a group's state is one
 * struct it_state with `bk` set; PostgreSQL's and MySQL's groups take
 * their server from MG_TEST_PG_DSN and MG_TEST_MYSQL_DSN. A missing
 * server sets `no_server`, so that each test calls skip() (IT_BEGIN),
 * or, when MG_TEST_REQUIRE_SERVERS is set (CI always has servers), fails
 * the group's setup. SQLite needs no server and is never skipped.
 */
int it_group_setup(void **state, enum backend bk);
int it_group_setup_sqlite(void **state);
int it_group_setup_postgres(void **state);
int it_group_setup_mysql(void **state);
int it_group_teardown(void **state);
/* A suite's main(): the three groups "<suite>_sqlite", "_postgres" and
 * "_mysql" with the fixture above, libsodium and the drivers set up
 * around them; the number of failed tests. */
struct CMUnitTest;
int it_run_engines(const char *suite, const struct CMUnitTest *sqlite,
                   size_t nsqlite, const struct CMUnitTest *postgres,
                   size_t npostgres, const struct CMUnitTest *mysql,
                   size_t nmysql);
#define IT_RUN_ENGINES(suite, sqlite, postgres, mysql)                        \
	it_run_engines((suite), (sqlite),                                     \
	               sizeof(sqlite) / sizeof((sqlite)[0]), (postgres),      \
	               sizeof(postgres) / sizeof((postgres)[0]), (mysql),     \
	               sizeof(mysql) / sizeof((mysql)[0]))
/* Per test: it_setup() makes the env on the group's engine (a temp dir
 * and a database of its own); it_teardown() frees the run, what was
 * owned, and the env. */
int it_setup(void **state);
int it_teardown(void **state);

/* Opens every test: `e` is the test's env, `r` its run. */
#define IT_BEGIN                                                              \
	struct it_state *st = *state;                                         \
	struct it_env *e = &st->e;                                            \
	struct it_run *r = &st->r;                                            \
	(void)r;                                                              \
	if (st->no_server)                                                    \
	skip()

/* migrate -d URL -m DIR ARGS... with the test's `e` */
#define MG(run, ...) it_mg((run), e, __VA_ARGS__, (const char *)NULL)
#define MG_ENV(run, env, ...)                                                 \
	it_mg_env((run), e, (env), __VA_ARGS__, (const char *)NULL)

/* On a wrong exit code, show what the binary said. */
#define assert_exit(run, want)                                                \
	do {                                                                  \
		if ((run)->code != (want))                                    \
			print_error("exit %d, want %d\n--- stdout:\n%s\n"     \
				    "--- stderr:\n%s\n",                      \
				    (run)->code, (want), (run)->out,          \
				    (run)->err);                              \
		assert_int_equal((run)->code, (want));                        \
	} while (0)

#define assert_contains(s, needle)                                            \
	do {                                                                  \
		if (!contains((s), (needle)))                                 \
			print_error("'%s' not found in:\n%s\n", (needle),     \
				    (s) ? (s) : "(null)");                    \
		assert_true(contains((s), (needle)));                         \
	} while (0)

#define assert_not_contains(s, needle)                                        \
	do {                                                                  \
		if (contains((s), (needle)))                                  \
			print_error("'%s' must not be in:\n%s\n", (needle),   \
				    (s));                                     \
		assert_false(contains((s), (needle)));                        \
	} while (0)

/* `migrate status --json` says `version` is in state `want`. */
#define assert_state(env, version, want)                                      \
	do {                                                                  \
		char *got_ = it_status_state((env), (version));               \
		if (got_ == NULL || strcmp(got_, (want)) != 0)                \
			print_error("version %d: state %s, want %s\n",        \
				    (int)(version), got_ ? got_ : "(none)",   \
				    (want));                                  \
		assert_true(got_ != NULL && strcmp(got_, (want)) == 0);       \
		free(got_);                                                   \
	} while (0)

/* Writes the three plain migrations (it_three), or fails the test. */
#define three(env) assert_int_equal(it_three(env), 0)

#define assert_table(env, name) assert_true(it_table_exists((env), (name)))
#define assert_no_table(env, name)                                            \
	assert_false(it_table_exists((env), (name)))

#endif
