#ifndef MG_FAKE_DRIVER_H
#define MG_FAKE_DRIVER_H

/*
 * A database that is not one, for unit tests of the runner's own logic
 * (as SQLite's aSyscall[] is for its VFS): it records every call, keeps a
 * ledger table in memory with real transaction semantics (rows inserted
 * in a transaction vanish on rollback), answers other queries through the
 * test's callback, and fails the Nth call of a kind on demand. Never a
 * stand-in for the real servers: what users rely on is also proven by the
 * integration tests.
 */
#include <stdbool.h>
#include <stddef.h>

#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/ledger.h"

/* The kinds of call that can be failed on demand. */
enum fake_op {
	FAKE_EXEC,         /* exec_script */
	FAKE_QUERY,        /* query() other than the ledger's own */
	FAKE_LEDGER_WRITE, /* an INSERT into the ledger */
	FAKE_COMMIT,       /* txn(COMMIT), or a query with MG_Q_COMMIT */
	FAKE_BEGIN,
	FAKE_LOCK,
	FAKE_LOCK_HELD,   /* lock_held(): failing is the lock (the Galera
	                     lease) lost from then on */
	FAKE_LEDGER_LOCK, /* ledger_lock(), where a test installs it */
	FAKE_JOB_LOCK,    /* job_lock(), where a test installs it */
	FAKE_OP_COUNT
};

struct fake_row {
	char *f[MG_LF_COUNT];
	bool pending; /* inserted in the open transaction */
};

struct fake_db {
	struct mg_driver drv; /* a copy of fake_driver, caps adjustable */
	bool table_exists;
	struct fake_row *rows;
	size_t nrows;
	bool in_txn;
	bool lock_lost; /* lock_held() says MG_ELOCKED */
	/* a failed ledger insert is another runner's row taking the id:
	 * that row is in the ledger, committed (issue 12) */
	bool fail_by_other;

	/* every call, one line each: "begin", "exec 0001_a.up.sql" ... */
	char log[16384];

	/* fail the Nth (1-based) call of each kind; 0: never */
	unsigned fail_at[FAKE_OP_COUNT];
	unsigned calls[FAKE_OP_COUNT];
	/* what a failed call reports */
	int fail_code;
	char fail_sqlstate[6];
	/* a failed call is a lock wait that timed out (err->lock_wait):
	 * production safety's retries */
	bool fail_lock_wait;
	/* then fail the call of a kind this many calls after the first
	 * failure (a retry's attempt); 0: none */
	unsigned fail_after[FAKE_OP_COUNT];
	/* calls of each kind when the first failure came */
	unsigned calls_at_fail[FAKE_OP_COUNT];
	bool failed;
	/* The Galera lease's guard (mysql.c's commit()): once lock_held()
	 * has said the lock was lost, every COMMIT fails with MG_ELOCKED
	 * and keeps nothing. rows_at_loss: committed ledger rows then. */
	bool lease_guard;
	size_t rows_at_loss;
	/* exec_script failing: the line, statements done and committed */
	unsigned fail_line;
	size_t fail_done, fail_committed, fail_total;

	/* answers a query that is not the ledger's: *out one row of one
	 * value, or NULL with an error returned; 0 when handled */
	int (*answer)(void *ctx, const char *sql, struct mg_rows **out,
	              struct mg_error *err);
	/* told of every script that runs (after any failure decision) */
	void (*on_exec)(void *ctx, const char *sql);
	/* told when a transaction ends: committed, or rolled back (also a
	 * failed commit) */
	void (*on_end)(void *ctx, bool committed);
	/* the rows a script affected, for its statement's evidence (a
	 * job's batches end at 0); NULL: -1, unknown */
	long long (*exec_rows)(void *ctx, const char *sql);
	/* answers fake_slot_table_info() */
	int (*table_info)(void *ctx, struct mg_table_info *out,
	                  const char *table, struct mg_error *err);
	void *ctx;
};

/* The vtable the fake's connections use; caps TXN_DDL | RUN_LOCK. */
extern const struct mg_driver fake_driver;

/* A fake database, its drv a copy of fake_driver (change drv.caps before
 * connecting); fake_db_free() frees it and its rows. */
struct fake_db *fake_db_new(void);
void fake_db_free(struct fake_db *db);
/* A connection to db; close it with conn->drv->close(). */
struct mg_conn *fake_connect(struct fake_db *db);

/* Slots a test may install in its db->drv: the ledger's append lock and
 * a job's lock (failed on demand as FAKE_LEDGER_LOCK and FAKE_JOB_LOCK),
 * and table_info (through db->table_info), for backups. */
int fake_ledger_lock(struct mg_conn *conn, const char *table,
                     struct mg_error *err);
int fake_job_lock(struct mg_conn *conn, const char *name, int64_t key,
                  int timeout_s, struct mg_error *err);
void fake_job_unlock(struct mg_conn *conn, const char *name, int64_t key);
int fake_slot_table_info(struct mg_table_info *out, struct mg_conn *conn,
                    const char *table, struct mg_error *err);

/* Rows of the ledger that are committed, and one field of row i. */
size_t fake_ledger_rows(const struct fake_db *db);
const char *fake_ledger_get(const struct fake_db *db, size_t i,
                            enum mg_lf f);
/* A result of one row of one value, for answer callbacks. */
struct mg_rows *fake_value(const char *v);

#endif
