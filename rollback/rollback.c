#include "rollback/rollback.h"

#include <stdlib.h>
#include <string.h>

#include "migrator/error.h"
#include "migrator/plan.h"
#include "migrator/source.h"

static int refuse(struct mg_plan *p, int code)
{
	mg_plan_dispose(p);
	return code;
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
		out->v[out->n++] = e->m;
	}
	return 0;
}
