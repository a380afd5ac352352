#include "rollback/rollback.h"

#include <stdlib.h>
#include <string.h>

#include "migrator/error.h"
#include "migrator/ledger.h"
#include "migrator/plan.h"
#include "migrator/source.h"

static int refuse(struct mg_plan *p, int code)
{
	mg_plan_dispose(p);
	return code;
}

/* Whether the down file differs from the one recorded at up time (in
 * the version's latest ok event); then err says so, with both. */
static bool changed_down(const struct mg_status_entry *e, struct mg_error *err)
{
	const char *was =
	        e->last_ok != NULL ? e->last_ok->f[MG_LF_DOWN_CHECKSUM] : NULL;

	if (was != NULL && strcmp(was, e->m->down.checksum) == 0)
		return false;
	mg_error_set(err, MG_ECHECKSUM,
	             "%s changed since %lld_%s was applied", e->m->down.path,
	             (long long)e->version, e->name);
	mg_error_detail(err, "recorded down checksum %s, now %s",
	                was ? was : "(none: it had no down file)",
	                e->m->down.checksum);
	mg_error_hint(err, "review the change; --allow-changed-down runs it "
	                   "anyway, and the ledger records that");
	return true;
}

int mg_rollback_plan(struct mg_plan *out, const struct mg_status *st,
                     const struct mg_down_opts *opts, struct mg_error *err)
{
	size_t i;
	int64_t steps = 0;

	memset(out, 0, sizeof(*out));
	if (opts->to < 0 && !opts->all && opts->steps < 1)
		return mg_error_set(err, MG_EINVALID,
		                    "--steps must be at "
		                    "least 1");
	if ((out->v = calloc(st->n + 1, sizeof(*out->v))) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	for (i = st->n; i-- > 0;) {
		const struct mg_status_entry *e = &st->v[i];

		if (e->state == MG_STATE_DIRTY) {
			mg_error_set(err, MG_ERR,
			             "%lld_%s was left "
			             "half-applied",
			             (long long)e->version, e->name);
			mg_error_hint(err,
			              "clear it first with 'migrate "
			              "repair %lld --reason TEXT'",
			              (long long)e->version);
			return refuse(out, MG_ERR);
		}
		if (!e->applied)
			continue;
		if (opts->to >= 0 && e->version <= opts->to)
			break;
		if (!opts->all && opts->to < 0 && steps++ == opts->steps)
			break;
		if (e->m == NULL)
			return refuse(out,
			              mg_error_set(err, MG_EINVALID,
			                           "cannot roll back %lld_%s: "
			                           "its files are "
			                           "missing",
			                           (long long)e->version,
			                           e->name));
		if (e->m->down.path == NULL && !e->m->up.dir.irreversible)
			return refuse(out,
			              mg_error_set(err, MG_EINVALID,
			                           "cannot roll back %lld_%s: "
			                           "it has no down file",
			                           (long long)e->version,
			                           e->name));
		if (e->m->up.dir.irreversible) {
			mg_error_set(err, MG_EINVALID,
			             "%s is marked "
			             "irreversible: refusing to roll back "
			             "past it",
			             e->m->up.path);
			mg_error_hint(err, "restore from a backup, or write a "
			                   "new migration that undoes it");
			return refuse(out, MG_EINVALID);
		}
		if (!opts->allow_changed_down && changed_down(e, err))
			return refuse(out, MG_ECHECKSUM);
		out->v[out->n++] = e->m;
	}
	return 0;
}
