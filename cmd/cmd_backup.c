/* backups: migrate restore, migrate backups, migrate prune (SPEC.md,
 * "Backups"; MIGRATING.md, "Backups"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/backup_catalog.h"
#include "cmd/cmd.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/json.h"
#include "migrator/ledger.h"
#include "rollback/restore.h"

struct report_ctx {
	const struct opts *o;
	int64_t version;
};

/* One JSON line per backup a restore or prune touched. */
static void json_report(const char *event,
                        const struct mg_backup_report *rep)
{
	struct mg_buf b = MG_BUF_INIT;
	struct mg_json w;

	mg_json_init(&w, &b);
	mg_json_object_begin(&w, NULL);
	mg_json_string(&w, "event", event);
	if (rep->restore != NULL) {
		mg_json_int(&w, "version", rep->restore->version);
		mg_json_string(&w, "table", rep->restore->table);
		mg_json_string(&w, "backup_table", rep->restore->backup_table);
		mg_json_int(&w, "rows", rep->restore->rows);
		mg_json_int(&w, "inserted", rep->restore->inserted);
		mg_json_int(&w, "updated", rep->restore->updated);
	} else {
		mg_json_int(&w, "version", rep->entry->version);
		mg_json_string(&w, "table", rep->entry->table);
		mg_json_string(&w, "backup_table", rep->entry->backup_table);
		if (rep->entry->job) {
			mg_json_string(&w, "job", rep->entry->name);
			mg_json_int(&w, "event", rep->entry->event);
		}
	}
	mg_json_string(&w, "status", rep->status);
	mg_json_array_or_string(&w, "checks", rep->evidence_json);
	mg_json_end(&w);
	print_json_line(&b);
}

static void on_restore(void *ctx, const struct mg_backup_report *rep)
{
	const struct report_ctx *c = ctx;
	const struct mg_restore *x = rep->restore;

	if (c->o->json) {
		json_report("restore", rep);
		return;
	}
	if (strcmp(rep->status, "planned") == 0) {
		say(c->o,
		    "would restore %s from %s: %lld row%s saved, %lld to "
		    "insert (key gone), %lld to set back (key there)\n",
		    x->table, x->backup_table, (long long)x->rows,
		    x->rows == 1 ? "" : "s",
		    (long long)x->inserted, (long long)x->updated);
		return;
	}
	say(c->o,
	    "restore %s from %s: %lld inserted, %lld set back; fingerprint "
	    "%s, restored rows %s: %s\n",
	    x->table, x->backup_table, (long long)x->inserted,
	    (long long)x->updated, x->fingerprint,
	    x->fingerprint_after ? x->fingerprint_after : "-", rep->status);
}

static void summary(const struct opts *o, const char *status, int code,
                    const char *key, int64_t n)
{
	struct mg_buf b = MG_BUF_INIT;
	struct mg_json w;

	if (!o->json)
		return;
	summary_begin(&w, &b, o, status, code);
	mg_json_int(&w, key, n);
	mg_json_end(&w);
	print_json_line(&b);
}

int cmd_restore(const struct opts *o)
{
	struct report_ctx c = { o, 0 };
	struct mg_backup_sel sel = { 0, o->backup_job, o->backup_event,
		                     o->from_table };
	struct session s;
	struct mg_error err = { 0 };
	int code;

	if (o->backup_event > 0 && o->backup_job == NULL)
		return usage_error(o, "--event goes with --job NAME");
	if (o->backup_job != NULL && o->nargs > 0)
		return usage_error(o, "restore takes a version or --job NAME, "
		                      "not both");
	if (o->backup_job == NULL &&
	    (code = version_arg(&sel.version, o)) != 0)
		return code;
	c.version = sel.version;
	if ((code = session_open(&s, o)) != 0)
		goto cleanup;
	if (mg_run_restore_sel(&s.r, &sel, o->dry_run, on_restore, &c, &err) <
	    0) {
		code = report(o, &err);
		goto cleanup;
	}
	if (o->backup_job != NULL)
		summary(o, "ok", EXIT_OK, "version", 0);
	else
		summary(o, "ok", EXIT_OK, "version", c.version);
	code = EXIT_OK;
cleanup:
	session_close(&s);
	return code;
}

static void on_prune(void *ctx, const struct mg_backup_report *rep)
{
	const struct report_ctx *c = ctx;
	const struct mg_catalog_entry *e = rep->entry;

	if (c->o->json) {
		json_report("prune", rep);
		return;
	}
	if (e->job) {
		say(c->o, "%s %s (job %s, event %lld, %s, %s)\n",
		    strcmp(rep->status, "planned") == 0 ? "would drop"
		                                        : "dropped",
		    e->backup_table, e->name ? e->name : "-",
		    (long long)e->event,
		    e->table ? e->table : "no ledger record",
		    mg_backup_state_name(e->state));
		return;
	}
	say(c->o, "%s %s (version %lld, %s, %s)\n",
	    strcmp(rep->status, "planned") == 0 ? "would drop" : "dropped",
	    e->backup_table, (long long)e->version,
	    e->table ? e->table : "no ledger record",
	    mg_backup_state_name(e->state));
}

int cmd_prune(const struct opts *o)
{
	struct report_ctx c = { o, o->prune_version };
	struct session s;
	struct mg_error err = { 0 };
	size_t n = 0;
	int code;

	if (o->nargs > 0)
		return usage_error(o, "unexpected argument '%s': use --version "
		                      "V",
		                   o->args[0]);
	if (o->backup_job != NULL && o->prune_version >= 0)
		return usage_error(o, "prune takes --version V or --job NAME, "
		                      "not both");
	if ((code = session_open(&s, o)) != 0)
		goto cleanup;
	if (mg_run_prune_job(&s.r, o->prune_version, o->backup_job,
	                     o->dry_run, on_prune, &c, &n, &err) < 0) {
		code = report(o, &err);
		goto cleanup;
	}
	say(o, "%zu backup%s %s\n", n, n == 1 ? "" : "s",
	    o->dry_run ? "would be dropped" : "dropped");
	summary(o, "ok", EXIT_OK, o->dry_run ? "would_prune" : "pruned",
	        (int64_t)n);
	code = EXIT_OK;
cleanup:
	session_close(&s);
	return code;
}

int cmd_backups(const struct opts *o)
{
	struct mg_conn *conn = NULL;
	struct mg_catalog cat = { 0 };
	struct mg_error err = { 0 };
	struct mg_buf b = MG_BUF_INIT;
	struct mg_json w;
	size_t i;
	int code;

	if (o->nargs > 0)
		return usage_error(o, "unexpected argument '%s'", o->args[0]);
	if ((code = open_db(&conn, o, MG_CONNECT_READ_ONLY)) != 0)
		goto cleanup;
	if (conn->drv->table_info == NULL) {
		mg_error_set(&err, MG_EINVALID,
		             "this database does not support backups");
		code = report(o, &err);
		goto cleanup;
	}
	if (mg_catalog_load(&cat, conn, o->table, &err) < 0) {
		code = report(o, &err);
		goto cleanup;
	}
	if (!o->json)
		printf("%-8s %-20s %-40s %8s %-27s %-27s %s\n", "VERSION",
		       "TABLE", "BACKUP TABLE", "ROWS", "CREATED", "EXPIRES",
		       "STATE");
	for (i = 0; i < cat.n; i++) {
		const struct mg_catalog_entry *e = &cat.v[i];
		const char *state = mg_backup_state_name(e->state);

		if (!o->json) {
			char rows[24], version[24];

			snprintf(rows, sizeof(rows), "%lld",
			         (long long)e->rows);
			/* a job's: "j" and its event id, as in its name */
			if (e->job)
				snprintf(version, sizeof(version), "j%lld",
				         (long long)e->event);
			else
				snprintf(version, sizeof(version), "%lld",
				         (long long)e->version);
			printf("%-8s %-20s %-40s %8s %-27s %-27s %s%s%s\n",
			       version, e->table ? e->table : "-",
			       e->backup_table, e->rows < 0 ? "-" : rows,
			       e->created_at[0] ? e->created_at : "-",
			       e->expires_at[0] ? e->expires_at : "never",
			       colour_on(stdout, state), state,
			       colour_off(stdout, state));
			continue;
		}
		mg_json_init(&w, &b);
		mg_json_object_begin(&w, NULL);
		if (e->version >= 0)
			mg_json_int(&w, "version", e->version);
		else
			mg_json_null(&w, "version");
		/* a job's (issue 11): version 0, its name and event */
		if (e->job) {
			mg_json_string(&w, "job", e->name);
			mg_json_int(&w, "event", e->event);
		}
		mg_json_string(&w, "table", e->table);
		mg_json_string(&w, "backup_table", e->backup_table);
		if (e->rows >= 0)
			mg_json_int(&w, "rows", e->rows);
		else
			mg_json_null(&w, "rows");
		mg_json_string(&w, "fingerprint", e->fingerprint);
		mg_json_string(&w, "created_at",
		               e->created_at[0] ? e->created_at : NULL);
		mg_json_string(&w, "expires_at",
		               e->expires_at[0] ? e->expires_at : NULL);
		mg_json_string(&w, "state", state);
		mg_json_string(&w, "where", e->where);
		mg_json_end(&w);
		print_json_line(&b);
	}
	say(o, "%zu backup%s kept, %zu expired\n", cat.kept,
	    cat.kept == 1 ? "" : "s", cat.expired);
	code = EXIT_OK;
cleanup:
	mg_buf_dispose(&b);
	mg_catalog_dispose(&cat);
	close_db(conn);
	return code;
}

void format_bytes(char *out, size_t size, int64_t bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 0) {
		snprintf(out, size, "%s", "");
		return;
	}
	if (bytes < 1024) {
		snprintf(out, size, "%lld byte%s", (long long)bytes,
		         bytes == 1 ? "" : "s");
		return;
	}
	for (v /= 1024; v >= 1024 && u + 1 < sizeof(units) / sizeof(*units);
	     v /= 1024)
		u++;
	snprintf(out, size, "%.1f %s", v, units[u]);
}

void print_backup_evidence(FILE *out, const char *checks_json)
{
	struct mg_json_value *v = NULL;
	size_t i;

	if (checks_json == NULL || strstr(checks_json, "backup_table") == NULL ||
	    mg_json_parse(&v, checks_json, NULL) < 0)
		return;
	for (i = 0; i < mg_json_array_size(v); i++) {
		const struct mg_json_value *it = mg_json_array_get(v, i);
		const char *kind = mg_json_object_string(it, "kind");
		const char *table = mg_json_object_string(it, "table");
		const char *bt = mg_json_object_string(it, "backup_table");
		const char *exp = mg_json_object_string(it, "expires_at");
		int64_t rows = 0, ins = 0, upd = 0;

		mg_json_object_int(it, "rows", &rows);
		if (kind != NULL && strcmp(kind, "backup") == 0 &&
		    mg_json_is_true(mg_json_object_get(it, "empty")))
			fprintf(out, "  backup %s: no rows to save, no table "
			             "kept\n",
			        table);
		else if (kind != NULL && strcmp(kind, "backup") == 0 &&
		    mg_json_is_true(mg_json_object_get(it, "dry_run"))) {
			int64_t bytes = -1;
			char size[32];

			if (!mg_json_object_int(it, "bytes", &bytes))
				bytes = -1;
			format_bytes(size, sizeof(size), bytes);
			fprintf(out, "  backup %s: would save %lld row%s%s%s%s\n",
			        table, (long long)rows, rows == 1 ? "" : "s",
			        size[0] ? " (" : "", size, size[0] ? ")" : "");
		} else if (kind != NULL && strcmp(kind, "backup") == 0)
			fprintf(out, "  backup %s: %lld row%s in %s%s, %s%s\n",
			        table, (long long)rows, rows == 1 ? "" : "s", bt,
			        mg_json_is_true(mg_json_object_get(it,
			                                           "reused"))
			                ? " (reused)"
			                : "",
			        exp ? "kept until " : "kept until pruned",
			        exp ? exp : "");
		else if (kind != NULL && strcmp(kind, "restore") == 0) {
			mg_json_object_int(it, "inserted", &ins);
			mg_json_object_int(it, "updated", &upd);
			fprintf(out,
			        "  restore %s from %s: %lld inserted, %lld set "
			        "back, fingerprint %s\n",
			        table, bt, (long long)ins, (long long)upd,
			        mg_json_object_string(it, "verdict")
			                ? mg_json_object_string(it, "verdict")
			                : "-");
		}
	}
	mg_json_value_free(v);
}
