#ifndef MG_BACKUP_CATALOG_H
#define MG_BACKUP_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mg_conn;
struct mg_error;

/*
 * Every backup a database holds, as the ledger tells it (SPEC.md,
 * "Backups"): each `backup` evidence item of an up (or job) event whose
 * copy was
 * committed (in the file's transaction: an ok event; outside it: any),
 * then what later restore and prune events did to it; plus the tables
 * named like backups that no event recorded (orphans: a MySQL runner
 * killed between the copy and its ledger row).
 */
enum mg_backup_state {
	MG_BK_KEPT,
	MG_BK_EXPIRED,
	MG_BK_RESTORED,
	MG_BK_PRUNED,
	MG_BK_ORPHAN,
};

const char *mg_backup_state_name(enum mg_backup_state s);

struct mg_catalog_entry {
	int64_t version; /* orphans: read from the name; -1 if it says none */
	char *name;      /* the migration's or job's name; NULL for orphans */
	bool job;        /* a job's backup (issue 11): version is 0 */
	int64_t event;   /* a job's: the event id in its name; a version's:
	                    the id of the event that recorded it; orphans: 0
	                    unless the name says */
	char *table;     /* as the directive wrote it; NULL for orphans */
	char *backup_table;
	char *backup_sql; /* qualified and quoted */
	char *where;
	int64_t rows; /* -1: unknown (orphans) */
	char *fingerprint;
	char *fp_format;
	char created_at[32];
	char expires_at[32]; /* "" without keep */
	char **cols;
	size_t ncols;
	char **key;
	size_t nkey;
	enum mg_backup_state state;
	bool expired; /* past expires_at, whatever the state */
	bool restored;
};

struct mg_catalog {
	struct mg_catalog_entry *v; /* by event id, orphans last */
	size_t n;
	size_t kept, expired; /* not pruned: how many, how many expired */
};

/* Reads the whole ledger named `ledger` and the database's tables. */
int mg_catalog_load(struct mg_catalog *out, struct mg_conn *conn,
                    const char *ledger, struct mg_error *err);
void mg_catalog_dispose(struct mg_catalog *c);

#endif
