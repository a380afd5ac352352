#ifndef MG_LEDGER_H
#define MG_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migrator/checksum.h"

struct mg_conn;
struct mg_error;

/*
 * The ledger (SPEC.md, "Ledger"): an append-only table in the target
 * database, one row per event. Every value is kept as the text that is
 * hashed, so an auditor recomputes entry_hash from what the table shows.
 */
enum mg_lf {
	MG_LF_ID,
	MG_LF_VERSION,
	MG_LF_NAME,
	MG_LF_DIRECTION, /* up, down, baseline, repair, restore, prune */
	MG_LF_STATUS,    /* ok, failed, dirty, rolled_back */
	MG_LF_UP_CHECKSUM,
	MG_LF_DOWN_CHECKSUM,
	MG_LF_STARTED_AT, /* 2026-01-31T12:00:00.000000Z */
	MG_LF_FINISHED_AT,
	MG_LF_DURATION_MS,
	MG_LF_DB_USER,
	MG_LF_OS_USER,
	MG_LF_HOST,
	MG_LF_TOOL_VERSION,
	MG_LF_CHECKS, /* JSON array */
	MG_LF_ERROR,
	MG_LF_REASON,
	MG_LF_PREV_HASH,
	MG_LF_ENTRY_HASH,
	MG_LF_SIGNATURE,
	MG_LF_COUNT
};

/* Column names, in table order; lends static strings. */
const char *mg_ledger_field_name(enum mg_lf f);

/* What a ledger row's `status` column says, and what an event reports:
 * the first four are ledger statuses; a dry run's events are "planned",
 * and `migrate test` skips the round trip of an irreversible file. */
enum mg_outcome {
	MG_OUTCOME_OK,
	MG_OUTCOME_FAILED,      /* nothing committed: retryable */
	MG_OUTCOME_DIRTY,       /* may be half-applied: needs repair */
	MG_OUTCOME_ROLLED_BACK, /* a check failed and the change was undone */
	MG_OUTCOME_PLANNED,
	MG_OUTCOME_SKIPPED,
};

/* The `direction` column; `migrate test` also reports round trips. */
enum mg_direction {
	MG_DIR_UP,
	MG_DIR_DOWN,
	MG_DIR_BASELINE,
	MG_DIR_REPAIR,
	MG_DIR_ROUNDTRIP,
	MG_DIR_JOB, /* one batch of a job (issue 11); never a version's */
	/* backups: events that never change a version's state */
	MG_DIR_RESTORE,
	MG_DIR_PRUNE,
};

/* Whether events of this direction ("up", ...; the ledger's text) make
 * a version's state: up, down, baseline and repair do; job, restore and
 * prune events never change it (SPEC.md, "Ledger"). */
bool mg_direction_sets_state(const char *direction);

/* SQL: the directions whose events make a version's state (SPEC.md,
 * "Ledger"); restore and prune events never change it. */
#define MG_LEDGER_STATE_DIRECTIONS                                            \
	"direction IN ('up', 'down', 'baseline', 'repair')"

/* The names the ledger and the JSON events use; lend static strings. */
const char *mg_outcome_name(enum mg_outcome o);
const char *mg_direction_name(enum mg_direction d);

/* Built like mg_buf: set fields freely, and an out-of-memory failure
 * sticks until mg_ledger_row_check() or mg_ledger_append() reports it. */
struct mg_ledger_row {
	char *f[MG_LF_COUNT]; /* owned; NULL for SQL NULL */
	int64_t id, version;  /* parsed from f[] */
	bool failed;          /* a set ran out of memory */
};

/* Whether a row's direction is one of MG_LEDGER_STATE_DIRECTIONS. */
bool mg_ledger_row_changes_state(const struct mg_ledger_row *row);

struct mg_ledger {
	char *name;                 /* as the user gave it */
	char *table;                /* quoted, ready for SQL */
	struct mg_ledger_row *rows; /* by id */
	size_t n;
	bool exists;     /* the table exists */
	int64_t last_id; /* 0: empty */
	char last_hash[MG_HASH_HEX_LEN];
	/* the tail as of the last commit: rows appended in a transaction
	 * that is rolled back are gone, and the chain goes on from here */
	int64_t committed_id;
	char committed_hash[MG_HASH_HEX_LEN];
};

/* What the hash chain starts from: 64 zeros. */
extern const char mg_ledger_genesis[MG_HASH_HEX_LEN];

/*
 * Reads the ledger named `table` (split on '.' into schema and table and
 * quoted for the driver). With `full` every row; else only what planning
 * needs: each version's latest event and latest 'ok' event, which keeps
 * start-up cost independent of the ledger's length. A table that does not
 * exist reads as empty (exists == false).
 */
int mg_ledger_load(struct mg_ledger **out, struct mg_conn *conn,
                   const char *table, bool full, struct mg_error *err);
/* A table name migrate accepts (letters, digits, '_', '$', '-', non-ASCII,
 * one '.' between schema and table): 0, or MG_EINVALID saying why. */
int mg_ledger_check_name(const char *name, struct mg_error *err);

/*
 * Brings a loaded ledger up to date: appends every row with an id above
 * the highest one read so far (rows this process appended included), and
 * moves the tail (last_id, last_hash) to the newest. One indexed query
 * whose cost follows the number of new rows, not the ledger's length.
 * Afterwards the ledger plans as a fresh mg_ledger_load() would: each
 * version's latest event and latest 'ok' event are still among the rows,
 * after older ones. Pointers into `rows` do not survive it. Call it
 * before appending in a transaction: what it reads counts as committed.
 */
int mg_ledger_refresh(struct mg_ledger *l, struct mg_conn *conn,
                      struct mg_error *err);
/* Creates the table if needed; call with the runner's lock held. */
int mg_ledger_ensure(struct mg_ledger *l, struct mg_conn *conn,
                     struct mg_error *err);
void mg_ledger_free(struct mg_ledger *l);

/*
 * Appends `row` (id, prev_hash, entry_hash and signature are filled in
 * here, the rest by the caller); MG_ENOMEM for a row that failed to build. flags: MG_Q_COMMIT to commit the open
 * transaction with it. On success the ledger's tail moves on.
 * `sign_key`: an Ed25519 secret key (64 bytes) or NULL.
 */
int mg_ledger_append(struct mg_ledger *l, struct mg_conn *conn,
                     struct mg_ledger_row *row, const unsigned char *sign_key,
                     unsigned flags, struct mg_error *err);

/*
 * jobs (issue 11): the id the open transaction's first append will get,
 * made sure of now: takes the ledger's append lock (which the
 * transaction keeps until it ends) and reads the tail again. A job's
 * backup is named from it before its event is written.
 */
int mg_ledger_reserve(struct mg_ledger *l, struct mg_conn *conn, int64_t *id,
                      struct mg_error *err);

/* Keeps the tail in step with the transaction the appends ran in, when
 * it ends without MG_Q_COMMIT: committed, or rolled back (the tail goes
 * back to the last commit). */
void mg_ledger_txn_end(struct mg_ledger *l, bool committed);

/* The canonical hash of a row (see MIGRATING.md, "The ledger"). */
void mg_ledger_entry_hash(char out[MG_HASH_HEX_LEN],
                          const struct mg_ledger_row *row);

/* Sets f[field] to a copy of value (NULL allowed); MG_ENOMEM, which
 * also marks the row failed. */
int mg_ledger_row_set(struct mg_ledger_row *row, enum mg_lf field,
                      const char *value);
/* MG_ENOMEM (with err set) if any set on the row failed; else 0. */
int mg_ledger_row_check(const struct mg_ledger_row *row, struct mg_error *err);
void mg_ledger_row_dispose(struct mg_ledger_row *row);

/*
 * Jobs (issue 11): the events of job `name` (direction job), newest
 * first, at most `max` of them, into *out (n rows; the caller disposes
 * each and frees the array). Empty when the ledger does not exist.
 */
int mg_ledger_job_rows(struct mg_ledger_row **out, size_t *n,
                       struct mg_conn *conn, const char *table,
                       const char *name, size_t max, struct mg_error *err);

/* Current UTC time in the ledger's form, and in milliseconds. */
void mg_ledger_now(char out[32], int64_t *ms);

/*
 * Verification of the ledger itself (MIGRATING.md, "The hash chain"):
 * each row must carry id 1, 2, 3..., a numeric version, the entry_hash
 * of the row before as its prev_hash and the hash of its own contents as
 * its entry_hash; with a public key, also a valid Ed25519 signature over
 * its entry_hash. What each kind of problem means:
 */
enum mg_ledger_problem {
	MG_LP_ID,            /* not the expected id: rows deleted, inserted
	                      * or reordered */
	MG_LP_VERSION,       /* version is not a number: the row was changed */
	MG_LP_PREV_HASH,     /* the chain is broken before this row */
	MG_LP_ENTRY_HASH,    /* the row's contents were changed */
	MG_LP_BAD_SIGNATURE, /* signed, but not by the key's owner */
	MG_LP_NOT_SIGNED,    /* no signature where a public key was given */
};

/*
 * Calls on_problem once per problem found, in row order (rows as loaded
 * with `full`), with the row's id and version as loaded and a one-line
 * message ("ledger row 3: entry_hash does not match its contents: the row
 * was changed"), lent for the call. `public_key`: 32 bytes, or NULL to
 * skip signatures. Returns the number of problems; reads nothing but l.
 */
size_t mg_ledger_verify(
        const struct mg_ledger *l, const unsigned char *public_key,
        void (*on_problem)(void *ctx, enum mg_ledger_problem kind, int64_t id,
                           int64_t version, const char *msg),
        void *ctx);

#endif
