#ifndef MG_CMD_H
#define MG_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cmd/opts.h"
#include "cmd/report.h"
#include "migrator/bounds.h"
#include "migrator/error.h"
#include "migrator/runner.h"

struct mg_buf;
struct mg_conn;
struct mg_source;

/* Helpers that report their own errors and return an exit code (0: ok). */
int open_source(struct mg_source **out, const struct opts *o);
/* flags: MG_CONNECT_* */
int open_db(struct mg_conn **out, const struct opts *o, unsigned flags);
void close_db(struct mg_conn *conn);
/* What a command that writes the ledger needs: files, connection, key. */
struct session {
	struct mg_source *src;
	struct mg_conn *conn;
	struct mg_runner r; /* ready to run, on_event unset */
	struct mg_bounds bounds; /* production safety: r.bounds */
	unsigned char key[64];
	const struct opts *o; /* for session_close(): a fleet's hook */
};

/* Returns an exit code (0: ok); session_close() in every case. */
int session_open(struct session *s, const struct opts *o);
void session_close(struct session *s);

const char *os_user(void);
const char *host_name(void);
/* MIGRATE_SIGNING_KEY into out (*have: whether it is set); returns an
 * exit code, 0 when fine. */
int load_signing_key(unsigned char out[64], bool *have, const struct opts *o);
/* Appends a whole file of at most max bytes; MG_EINVALID, MG_ENOMEM. */
int read_text_file(struct mg_buf *out, const char *path, size_t max,
                   struct mg_error *err);

int cmd_new(const struct opts *o);
int cmd_status(const struct opts *o);
int cmd_up(const struct opts *o);
int cmd_down(const struct opts *o);
int cmd_verify(const struct opts *o);
int cmd_ledger(const struct opts *o);
int cmd_baseline(const struct opts *o);
int cmd_repair(const struct opts *o);
int cmd_keygen(const struct opts *o);
/* A file of hex digits into exactly len bytes (keys); MG_EINVALID. */
int read_hex_file(unsigned char *out, size_t len, const char *path,
                  struct mg_error *err);
int cmd_test(const struct opts *o);
int cmd_config(const struct opts *o);
/* migrate job list | run (issue 11), cmd/cmd_job.c */
int cmd_job(const struct opts *o);
/* backups (cmd/cmd_backup.c) */
int cmd_restore(const struct opts *o);
int cmd_backups(const struct opts *o);
int cmd_prune(const struct opts *o);
/* "  backup staff: 2 rows saved in ..." for each backup or restore item
 * of an event's evidence (a JSON array; NULL: none). */
void print_backup_evidence(FILE *out, const char *checks_json);
struct mg_evidence;
/* "  line 9: UPDATE, 1 row (0 ms)", one line a statement; the first 10
 * (all with verbose), then how many more (cmd_run.c). */
void print_statements(FILE *out, bool verbose, const struct mg_evidence *ev);
/* "180 bytes", "12.3 MiB": a backup's size for people; "" when < 0 */
void format_bytes(char *out, size_t size, int64_t bytes);
int cmd_plan(const struct opts *o); /* issue 10 */

#endif
