#include "rollback/undo.h"

#include <stddef.h>
#include <stdlib.h>

#include "checks/check.h"
#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/source.h"

/* How many values the undo measured again: those with a before value. */
static size_t measured(const struct mg_checks *cs)
{
	size_t i, n = 0;

	for (i = 0; cs->dir != NULL && i < cs->dir->nchecks; i++)
		n += cs->r[i].after_undo != NULL;
	return n;
}

bool mg_undo_run(struct mg_conn *conn, const struct mg_file *opposite,
                 struct mg_checks *cs, struct mg_error *why)
{
	return mg_undo_run_then(conn, opposite, cs, why, NULL, NULL);
}

bool mg_undo_run_then(struct mg_conn *conn, const struct mg_file *opposite,
                      struct mg_checks *cs, struct mg_error *why,
                      int (*then)(void *ctx, struct mg_conn *conn,
                                  struct mg_error *err),
                      void *ctx)
{
	struct mg_script_result res = { 0 };
	struct mg_error uerr = { 0 };
	char *differs = NULL;
	bool same = false;

	if (opposite->path == NULL) {
		mg_error_detail(why, "no down file to undo it: the changes "
		                     "stay");
		return false;
	}
	if (conn->drv->exec_script(conn, opposite->text, opposite->len,
	                           MG_SCRIPT_NO_TXN, NULL, &res, &uerr) < 0) {
		mg_error_detail(why, "undoing with %s failed at line %u: %s",
		                opposite->path, res.line, uerr.msg);
		return false;
	}
	if (then != NULL && then(ctx, conn, &uerr) < 0) {
		mg_error_detail(why, "ran %s to undo it, but its restore: "
		                     "failed: %s",
		                opposite->path, uerr.msg);
		return false;
	}
	if (mg_checks_restored(cs, conn, &same, &differs, &uerr) < 0) {
		mg_error_detail(why,
		                "ran %s, but could not measure the "
		                "result: %s",
		                opposite->path, uerr.msg);
		return false;
	}
	if (same)
		mg_error_detail(why,
		                "ran %s to undo it; every before value "
		                "was restored (%zu checked value%s came back; "
		                "changes to anything the checks do not cover "
		                "are not verified)",
		                opposite->path, measured(cs),
		                measured(cs) == 1 ? "" : "s");
	else
		mg_error_detail(why,
		                "ran %s to undo it, but the state differs: "
		                "%s",
		                opposite->path, differs);
	free(differs);
	return same;
}
