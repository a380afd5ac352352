#ifndef MG_RESTORE_H
#define MG_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mg_backups;
struct mg_catalog_entry;
struct mg_conn;
struct mg_directives;
struct mg_error;
struct mg_json;
struct mg_runner;

/*
 * Restore (SPEC.md, "Backups"): put back the rows a backup saved, matched
 * by its key (insert those whose key is gone, set the saved values back
 * on those whose key exists), then prove it: the fingerprint, over the
 * backup's columns, of the rows with the saved keys must equal the
 * backup's.
 */
struct mg_restore {
	unsigned line; /* of the -- restore: line; 0 for the command */
	int64_t version;
	char *table;        /* as the backup's directive wrote it */
	char *backup_table; /* unquoted */
	char *backup_sql;
	char **cols; /* the backup's columns and key */
	size_t ncols;
	char **key;
	size_t nkey;
	/* of the table now: columns it computes (never written) and
	 * identity ALWAYS ones (inserted with insert_override, never set) */
	char **generated;
	size_t ngenerated;
	char **identity;
	size_t nidentity;
	const char *insert_override; /* static; NULL: none */
	int64_t rows;          /* the backup's */
	int64_t inserted, updated; /* what restore did (or would do) */
	char *fingerprint;       /* the backup's */
	const char *fp_format;   /* its format (static) */
	char *fingerprint_after; /* of the restored rows; NULL before */
	bool ok;                 /* the two are equal */
	bool dry_run;
};

struct mg_restores {
	struct mg_restore *v;
	size_t n;
	/* the rows are put back outside any transaction, as an undo's
	 * opposite file runs (exec_script's MG_SCRIPT_NO_TXN) */
	bool no_txn;
};

/*
 * -- restore: lines of a down file, before anything runs: finds the
 * backup of each table among version's (catalogue), and refuses
 * (MG_EINVALID, err->line the directive's) one that was never taken,
 * was pruned, whose table or backup table is gone, or whose saved
 * columns no longer exist.
 */
int mg_restores_prepare(struct mg_restores *out, struct mg_conn *conn,
                        const char *ledger, int64_t version,
                        const struct mg_directives *dir,
                        struct mg_error *err);
/*
 * The undo of an up file where DDL does not roll back (MySQL, no-
 * transaction files: a failed check runs the down file): its down file's
 * -- restore: lines put back what the up file's backups just saved,
 * which no ledger event records yet. mg_undo_run_then()'s `then`, with
 * ctx a struct mg_undo_restore (dispose its rs after). A restore: with
 * no backup taken of its table, or a proof that fails, is an error.
 */
struct mg_undo_restore {
	const struct mg_directives *down; /* the down file's */
	const struct mg_backups *taken;   /* the up file's */
	int64_t version;
	struct mg_restores rs; /* filled: what was restored */
};
int mg_restores_undo(void *ctx, struct mg_conn *conn, struct mg_error *err);

/* After the down file's SQL: restores and proves each. MG_ECHECK when a
 * proof fails (err says which), the SQL's errors else. */
int mg_restores_run(struct mg_restores *rs, struct mg_conn *conn,
                    struct mg_error *err);
/* Evidence items (kind "restore"); ctx: const struct mg_restores *. */
void mg_restores_json(const void *ctx, struct mg_json *w);
void mg_restores_dispose(struct mg_restores *rs);

/* What a restore or prune command did, one callback per backup. */
struct mg_backup_report {
	const struct mg_restore *restore; /* restore: its result */
	const struct mg_catalog_entry *entry; /* prune: what was dropped */
	const char *evidence_json;             /* the event's checks */
	const char *status;                    /* ok, dirty, rolled_back,
	                                          planned */
};

/*
 * `migrate restore V [--table T] [--dry-run]`: each of version V's
 * backups (or T's) restored and proven, with a `restore` ledger event;
 * where DDL rolls back all in one transaction, rolled back when a proof
 * fails (MG_ECHECK), else the event says dirty (MG_ERR). Refuses with
 * MG_EINVALID a version without backups, pruned ones, missing columns.
 */
int mg_run_restore(struct mg_runner *r, int64_t version, const char *table,
                   bool dry_run,
                   void (*on_report)(void *ctx,
                                     const struct mg_backup_report *rep),
                   void *ctx, struct mg_error *err);

/*
 * Which backups a restore acts on: version V's, or (issue 11) with job
 * set, that job's backups of one event (0: the job's latest that has a
 * backup); table, if set, only that table's.
 */
struct mg_backup_sel {
	int64_t version;
	const char *job;
	int64_t event;
	const char *table;
};

/* `migrate restore --job NAME [--event ID] [--table T]`: as
 * mg_run_restore(), for the backups `which` names; the restore event of
 * a job's backups has version 0 and the job's name. */
int mg_run_restore_sel(struct mg_runner *r, const struct mg_backup_sel *which,
                       bool dry_run,
                       void (*on_report)(void *ctx,
                                         const struct mg_backup_report *rep),
                       void *ctx, struct mg_error *err);

/*
 * `migrate prune [--dry-run] [--version V]`: drops the expired backups
 * and the orphans (with version >= 0: V's backups, whatever their
 * expiry), each with a `prune` ledger event holding the fingerprint of
 * what was dropped. *pruned counts them.
 */
int mg_run_prune(struct mg_runner *r, int64_t version, bool dry_run,
                 void (*on_report)(void *ctx,
                                   const struct mg_backup_report *rep),
                 void *ctx, size_t *pruned, struct mg_error *err);
/* `migrate prune --job NAME`: with job set, every backup of that job,
 * whatever its expiry; else as mg_run_prune(). */
int mg_run_prune_job(struct mg_runner *r, int64_t version, const char *job,
                     bool dry_run,
                     void (*on_report)(void *ctx,
                                       const struct mg_backup_report *rep),
                     void *ctx, size_t *pruned, struct mg_error *err);

struct mg_plan;

/*
 * Before any file of a plan runs: with `ups`, each backup: of a table
 * that exists and that no earlier file of the plan mentions must have a
 * key; with `downs`, each restore: must find its version's backup, not
 * pruned. MG_EINVALID located at the file and line; 0 when all can work
 * (or can only be judged when the file's turn comes).
 */
int mg_backup_precheck(struct mg_conn *conn, const char *ledger,
                       const struct mg_plan *p, bool ups, bool downs,
                       struct mg_error *err);

/* backups: the fingerprint of all of `table` (as written), over every
 * column; MG_ENOTFOUND when there is no such table. *out: caller frees. */
int mg_table_fingerprint(char **out, struct mg_conn *conn, const char *table,
                         struct mg_error *err);

#endif
