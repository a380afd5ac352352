#include "migrator/drivers/mysql_lease.h"

#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "migrator/buf.h"
#include "migrator/error.h"
#include "migrator/drivers/url.h"

struct my_lease {
	MYSQL *my;          /* the lease's own session */
	char table[300];    /* `db`.`migrate_lease` */
	char name[200];     /* escaped for a literal */
	char token[33];     /* ours: 32 hex digits */
	pthread_t thread;
	bool running;       /* the renewal thread was started */
	/* Held by the main session from BEGIN to COMMIT/ROLLBACK and by the
	 * renewal around its UPDATE: Galera certifies a transaction against
	 * every write set committed since it began, the node's own included,
	 * so a renewal committed while a ledger transaction is open would
	 * make that transaction fail certification (1213) at COMMIT. */
	pthread_mutex_t gate;
	bool gate_held; /* by the main session (its thread only) */
	pthread_mutex_t mu; /* guards what follows */
	pthread_cond_t cv;
	bool stop, lost;
	long long last_ok; /* when the counter last moved by our hand */
	char why[256];     /* why it was lost */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int lease_error(struct mg_error *err, MYSQL *my)
{
	mg_error_set(err, MG_EDRIVER, "%s", mysql_error(my));
	if (err != NULL) {
		snprintf(err->sqlstate, sizeof(err->sqlstate), "%s",
		         mysql_sqlstate(my));
		mg_scrub(err->msg, sizeof(err->msg), my->passwd);
	}
	return MG_EDRIVER;
}

/* Runs a statement that returns no rows; *affected: rows it changed. */
static int run(MYSQL *my, const char *sql, unsigned long long *affected)
{
	MYSQL_RES *res;

	if (mysql_query(my, sql) != 0)
		return -1;
	if ((res = mysql_store_result(my)) != NULL)
		mysql_free_result(res);
	if (affected != NULL)
		*affected = mysql_affected_rows(my);
	return 0;
}

/* The first value of a query's first row, as a number. */
static int count(long long *out, MYSQL *my, const char *sql)
{
	MYSQL_RES *res;
	MYSQL_ROW row;

	*out = 0;
	if (mysql_query(my, sql) != 0 || (res = mysql_store_result(my)) == NULL)
		return -1;
	if ((row = mysql_fetch_row(res)) != NULL && row[0] != NULL)
		*out = atoll(row[0]);
	mysql_free_result(res);
	return 0;
}

/* What a waiting runner sees of the row. */
struct seen {
	bool free;
	char token[33];
	long long counter, ttl_ms;
	char who[200]; /* "pid X on host Y since T" */
};

static int read_row(struct seen *out, struct my_lease *l, struct mg_error *err)
{
	char sql[1024];
	MYSQL_RES *res;
	MYSQL_ROW row;

	memset(out, 0, sizeof(*out));
	out->free = true;
	snprintf(sql, sizeof(sql),
	         "SELECT token, counter, ttl_ms, pid, host, "
	         "DATE_FORMAT(since, '%%Y-%%m-%%dT%%H:%%i:%%sZ') FROM %s "
	         "WHERE name = '%s'",
	         l->table, l->name);
	if (mysql_query(l->my, sql) != 0 ||
	    (res = mysql_store_result(l->my)) == NULL)
		return lease_error(err, l->my);
	if ((row = mysql_fetch_row(res)) != NULL && row[0] != NULL) {
		out->free = false;
		snprintf(out->token, sizeof(out->token), "%s", row[0]);
		out->counter = row[1] ? atoll(row[1]) : 0;
		out->ttl_ms = row[2] ? atoll(row[2]) : MY_LEASE_TTL_MS;
		snprintf(out->who, sizeof(out->who), "pid %s on host %s since %s",
		         row[3] ? row[3] : "?", row[4] ? row[4] : "?",
		         row[5] ? row[5] : "?");
	}
	mysql_free_result(res);
	return 0;
}

/* Certification lost (1213), or Galera's "lock wait" of a conflicting
 * apply (1205): another runner's write won. */
static bool lost_race(MYSQL *my)
{
	unsigned no = mysql_errno(my);

	return no == ER_LOCK_DEADLOCK || no == ER_LOCK_WAIT_TIMEOUT;
}

/*
 * The compare-and-set: token `expect` (NULL: free) and, on a takeover,
 * the counter watched standing still. 1 if ours now, 0 if held, <0 on
 * error.
 */
static int take(struct my_lease *l, const char *expect, long long counter,
                struct mg_error *err)
{
	char sql[1200], host[64] = "?", esc[140], cond[120];
	unsigned long long n = 0;

	gethostname(host, sizeof(host) - 1);
	mysql_real_escape_string(l->my, esc, host, strlen(host));
	if (expect == NULL)
		snprintf(cond, sizeof(cond), "token IS NULL");
	else
		snprintf(cond, sizeof(cond), "token = '%s' AND counter = %lld",
		         expect, counter);
	snprintf(sql, sizeof(sql),
	         "UPDATE %s SET token = '%s', host = '%s', pid = %ld, "
	         "counter = counter + 1, ttl_ms = %d, "
	         "since = UTC_TIMESTAMP(6), renewed_at = UTC_TIMESTAMP(6) "
	         "WHERE name = '%s' AND %s",
	         l->table, l->token, esc, (long)getpid(), MY_LEASE_TTL_MS,
	         l->name, cond);
	if (run(l->my, sql, &n) < 0)
		return lost_race(l->my) ? 0 : lease_error(err, l->my);
	return n == 1 ? 1 : 0;
}

static void *renew(void *arg)
{
	struct my_lease *l = arg;
	char sql[1024];
	struct seen s;

	mysql_thread_init();
	snprintf(sql, sizeof(sql),
	         "UPDATE %s SET counter = counter + 1, renewed_at = "
	         "UTC_TIMESTAMP(6) WHERE name = '%s' AND token = '%s'",
	         l->table, l->name, l->token);
	pthread_mutex_lock(&l->mu);
	while (!l->stop && !l->lost) {
		struct timespec until;
		unsigned long long n = 0;
		int rc;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)MY_LEASE_RENEW_MS * 1000000;
		until.tv_sec += until.tv_nsec / 1000000000;
		until.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&l->cv, &l->mu, &until);
		if (l->stop)
			break;
		pthread_mutex_unlock(&l->mu);
		pthread_mutex_lock(&l->gate);
		rc = run(l->my, sql, &n);
		pthread_mutex_unlock(&l->gate);
		if (rc == 0 && n == 1) {
			pthread_mutex_lock(&l->mu);
			l->last_ok = now_ms();
			pthread_mutex_unlock(&l->mu);
		} else if (rc == 0 || (lost_race(l->my) &&
		                       read_row(&s, l, NULL) == 0 &&
		                       strcmp(s.token, l->token) != 0)) {
			pthread_mutex_lock(&l->mu);
			l->lost = true;
			snprintf(l->why, sizeof(l->why),
			         "the lease was taken over by another runner");
			continue;
		}
		pthread_mutex_lock(&l->mu);
		/* not renewed for most of its life: others may take it, so
		 * stop before they can */
		if (now_ms() - l->last_ok >
		    MY_LEASE_TTL_MS - 2 * MY_LEASE_RENEW_MS) {
			l->lost = true;
			snprintf(l->why, sizeof(l->why),
			         "the lease could not be renewed for %lld ms: "
			         "%s",
			         now_ms() - l->last_ok, mysql_error(l->my));
		}
	}
	pthread_mutex_unlock(&l->mu);
	mysql_thread_end();
	return NULL;
}

static void quote_table(char *out, size_t size, const char *db)
{
	size_t i, n = 0;

	/* a backtick in the name doubles */
	if (n + 1 < size)
		out[n++] = '`';
	for (i = 0; db[i] != '\0' && n + 3 < size; i++) {
		if (db[i] == '`')
			out[n++] = '`';
		out[n++] = db[i];
	}
	out[n] = '\0';
	snprintf(out + n, size - n, "`.`migrate_lease`");
}

static void lease_free(struct my_lease *l)
{
	mysql_close(l->my);
	pthread_mutex_destroy(&l->gate);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

int my_lease_acquire(struct my_lease **out, MYSQL *session, const char *db,
                     const char *name, int timeout_s, struct mg_error *err)
{
	unsigned char rnd[16];
	char sql[900], watched[33] = "";
	long long counter = -1, since = 0, deadline, n = 0;
	struct my_lease *l;
	struct seen s = { .free = true };
	int rc;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		mysql_close(session);
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	}
	l->my = session;
	pthread_mutex_init(&l->gate, NULL);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	quote_table(l->table, sizeof(l->table), db);
	mysql_real_escape_string(session, l->name, name,
	                         strnlen(name, (sizeof(l->name) - 1) / 2));
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(l->token, sizeof(l->token), rnd, sizeof(rnd));
	/* Every read and write waits until this node has applied what the
	 * cluster committed before it. The table and the row are made only
	 * where missing, and with IF NOT EXISTS / IGNORE so that racing first
	 * runs both get past: a CREATE TABLE runs in TOI, which would abort
	 * the holder's open transaction on the table (1213 at its COMMIT) if
	 * every runner sent one. */
	if (run(session, "SET SESSION wsrep_sync_wait = 7", NULL) < 0 ||
	    (rc = count(&n, session,
	                "SELECT COUNT(*) FROM information_schema.TABLES "
	                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = "
	                "'migrate_lease'")) < 0) {
		rc = lease_error(err, session);
		goto fail;
	}
	snprintf(sql, sizeof(sql),
	         "CREATE TABLE IF NOT EXISTS %s (name VARCHAR(191) NOT NULL "
	         "PRIMARY KEY, token CHAR(32) NULL, host VARCHAR(255) NULL, "
	         "pid BIGINT NULL, counter BIGINT NOT NULL DEFAULT 0, "
	         "ttl_ms BIGINT NOT NULL DEFAULT 0, since DATETIME(6) NULL, "
	         "renewed_at DATETIME(6) NULL) ENGINE=InnoDB DEFAULT "
	         "CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
	         l->table);
	if (n == 0 && run(session, sql, NULL) < 0) {
		rc = lease_error(err, session);
		goto fail;
	}
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s WHERE name = '%s'",
	         l->table, l->name);
	if (count(&n, session, sql) < 0) {
		rc = lease_error(err, session);
		goto fail;
	}
	snprintf(sql, sizeof(sql), "INSERT IGNORE INTO %s (name) VALUES ('%s')",
	         l->table, l->name);
	/* a racing runner's insert of the same row wins certification:
	 * the row is there either way */
	if (n == 0 && run(session, sql, NULL) < 0 && !lost_race(session)) {
		rc = lease_error(err, session);
		goto fail;
	}
	deadline = now_ms() + (long long)timeout_s * 1000;
	for (;;) {
		if ((rc = take(l, NULL, 0, err)) < 0)
			goto fail;
		if (rc == 0 && (rc = read_row(&s, l, err)) < 0)
			goto fail;
		if (rc == 0 && !s.free) {
			/* the holder renews by bumping counter: one that
			 * stood still for its ttl on our own clock has
			 * died, and we take the row over from it */
			if (strcmp(s.token, watched) != 0 ||
			    s.counter != counter) {
				snprintf(watched, sizeof(watched), "%s",
				         s.token);
				counter = s.counter;
				since = now_ms();
			} else if (now_ms() - since > s.ttl_ms &&
			           (rc = take(l, watched, counter, err)) < 0) {
				goto fail;
			}
		}
		if (rc == 1)
			break;
		if (now_ms() >= deadline) {
			mg_error_set(err, MG_ELOCKED,
			             "another migrate run holds the lock: "
			             "not acquired within %d s",
			             timeout_s);
			if (!s.free)
				mg_error_detail(err,
				                "held by %s (a lease on "
				                "%s, Galera cluster)",
				                s.who, l->table);
			rc = MG_ELOCKED;
			goto fail;
		}
		if (!s.free)
			sleep_ms(200);
	}
	l->last_ok = now_ms();
	if (pthread_create(&l->thread, NULL, renew, l) != 0) {
		my_lease_release(l);
		return mg_error_set(err, MG_ERR,
		                    "cannot start the lease's renewal thread");
	}
	l->running = true;
	*out = l;
	return 0;
fail:
	lease_free(l);
	return rc;
}

int my_lease_held(struct my_lease *l, struct mg_error *err)
{
	int rc = 0;

	pthread_mutex_lock(&l->mu);
	if (l->lost) {
		rc = mg_error_set(err, MG_ELOCKED,
		                  "the run lock was lost: %s", l->why);
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}

int my_lease_guard(struct my_lease *l, MYSQL *main, struct mg_error *err)
{
	char sql[1024];
	unsigned long long n = 0;
	int rc;

	pthread_mutex_lock(&l->mu);
	rc = l->lost ? mg_error_set(err, MG_ELOCKED,
	                            "another migrate run is active: %s",
	                            l->why)
	             : 0;
	pthread_mutex_unlock(&l->mu);
	if (rc < 0)
		return rc;
	snprintf(sql, sizeof(sql),
	         "UPDATE %s SET counter = counter + 1 WHERE name = '%s' "
	         "AND token = '%s'",
	         l->table, l->name, l->token);
	if (run(main, sql, &n) < 0) {
		if (!lost_race(main))
			return lease_error(err, main);
		n = 0;
	}
	if (n != 1)
		return mg_error_set(err, MG_ELOCKED,
		                    "another migrate run is active: the run "
		                    "lock's lease is no longer ours");
	/* it moved the counter as a renewal does (if it commits) */
	pthread_mutex_lock(&l->mu);
	l->last_ok = now_ms();
	pthread_mutex_unlock(&l->mu);
	return 0;
}

void my_lease_txn_begin(struct my_lease *l)
{
	if (!l->gate_held) {
		pthread_mutex_lock(&l->gate);
		l->gate_held = true;
	}
}

void my_lease_txn_end(struct my_lease *l)
{
	if (l->gate_held) {
		l->gate_held = false;
		pthread_mutex_unlock(&l->gate);
	}
}

void my_lease_holder(char *out, size_t size, bool *held, MYSQL *session,
                     const char *db, const char *name)
{
	char table[300], esc[200], sql[800];
	MYSQL_RES *res;
	MYSQL_ROW row;

	*held = false;
	if (size > 0)
		out[0] = '\0';
	quote_table(table, sizeof(table), db);
	mysql_real_escape_string(session, esc, name,
	                         strnlen(name, (sizeof(esc) - 1) / 2));
	snprintf(sql, sizeof(sql),
	         "SELECT pid, host, DATE_FORMAT(since, "
	         "'%%Y-%%m-%%dT%%H:%%i:%%sZ'), renewed_at + INTERVAL ttl_ms "
	         "* 1000 MICROSECOND > UTC_TIMESTAMP(6) FROM %s WHERE name = "
	         "'%s' AND token IS NOT NULL",
	         table, esc);
	if (mysql_query(session, sql) != 0 ||
	    (res = mysql_store_result(session)) == NULL)
		return;
	if ((row = mysql_fetch_row(res)) != NULL) {
		snprintf(out, size, "pid %s on host %s since %s",
		         row[0] ? row[0] : "?", row[1] ? row[1] : "?",
		         row[2] ? row[2] : "?");
		*held = row[3] != NULL && strcmp(row[3], "1") == 0;
	}
	mysql_free_result(res);
}

void my_lease_release(struct my_lease *l)
{
	char sql[1024];

	if (l == NULL)
		return;
	my_lease_txn_end(l); /* the renewal may wait for it */
	if (l->running) {
		pthread_mutex_lock(&l->mu);
		l->stop = true;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->thread, NULL);
	}
	snprintf(sql, sizeof(sql),
	         "UPDATE %s SET token = NULL, host = NULL, pid = NULL, "
	         "since = NULL WHERE name = '%s' AND token = '%s'",
	         l->table, l->name, l->token);
	run(l->my, sql, NULL); /* a lease not cleared expires */
	lease_free(l);
}
