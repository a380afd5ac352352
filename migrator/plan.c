#include "migrator/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrator/error.h"
#include "migrator/ledger.h"
#include "migrator/source.h"

static const char *const state_names[] = {
	"pending", "applied", "failed", "dirty", "drifted", "missing",
};

const char *mg_state_name(enum mg_state s)
{
	return state_names[s];
}

static int cmp_entry(const void *a, const void *b)
{
	const struct mg_status_entry *x = a, *y = b;

	return (x->version > y->version) - (x->version < y->version);
}

/* The first nsrc entries come from the source, sorted by version: a
 * binary search there (a scan made status quadratic in the files, issue
 * 7), then the few versions found only in the ledger. */
static struct mg_status_entry *find(struct mg_status *st, size_t nsrc,
                                    int64_t version)
{
	size_t lo = 0, hi = nsrc, i;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->v[mid].version == version)
			return &st->v[mid];
		if (st->v[mid].version < version)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = st->n; i-- > nsrc;)
		if (st->v[i].version == version)
			return &st->v[i];
	return NULL;
}

static bool eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static void classify(struct mg_status_entry *e)
{
	const struct mg_ledger_row *ok = e->last_ok, *last = e->last;
	const char *recorded;

	e->applied = ok != NULL && (eq(ok->f[MG_LF_DIRECTION], "up") ||
	                            eq(ok->f[MG_LF_DIRECTION], "baseline"));
	recorded = ok != NULL ? ok->f[MG_LF_UP_CHECKSUM] : NULL;
	if (last != NULL && eq(last->f[MG_LF_STATUS], "dirty"))
		e->state = MG_STATE_DIRTY;
	else if (e->applied && e->m == NULL)
		e->state = MG_STATE_MISSING;
	else if (e->applied && recorded != NULL &&
	         strcmp(recorded, e->m->up.checksum) != 0)
		e->state = MG_STATE_DRIFTED;
	else if (e->applied)
		e->state = MG_STATE_APPLIED;
	else if (last != NULL && last != ok)
		e->state = MG_STATE_FAILED; /* failed or rolled_back */
	else
		e->state = MG_STATE_PENDING;
}

int mg_status_build(struct mg_status *out, const struct mg_source *src,
                    const struct mg_ledger *ledger, struct mg_error *err)
{
	struct mg_status st = { 0 };
	size_t i, keep;

	memset(out, 0, sizeof(*out));
	st.v = calloc(src->n + (ledger ? ledger->n : 0) + 1, sizeof(*st.v));
	if (st.v == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	for (i = 0; i < src->n; i++) {
		st.v[st.n].version = src->v[i].version;
		st.v[st.n].name = src->v[i].name;
		st.v[st.n++].m = &src->v[i];
	}
	for (i = 0; ledger != NULL && i < ledger->n; i++) {
		const struct mg_ledger_row *row = &ledger->rows[i];
		struct mg_status_entry *e;

		if (!mg_ledger_row_changes_state(row))
			continue; /* restore, prune */
		e = find(&st, src->n, row->version);

		if (e == NULL) { /* in the ledger only: files deleted */
			e = &st.v[st.n++];
			e->version = row->version;
			e->name = row->f[MG_LF_NAME];
		}
		e->last = row;
		if (eq(row->f[MG_LF_STATUS], "ok"))
			e->last_ok = row;
	}
	st.max_applied = -1;
	for (i = keep = 0; i < st.n; i++) {
		classify(&st.v[i]);
		/* a version with neither files nor an applied state is
		 * history only: the ledger command shows it */
		if (st.v[i].m == NULL && !st.v[i].applied &&
		    st.v[i].state != MG_STATE_DIRTY)
			continue;
		if (st.v[i].applied && st.v[i].version > st.max_applied)
			st.max_applied = st.v[i].version;
		st.v[keep++] = st.v[i];
	}
	st.n = keep;
	if (st.n > 0)
		qsort(st.v, st.n, sizeof(*st.v), cmp_entry);
	*out = st;
	return 0;
}

void mg_status_dispose(struct mg_status *st)
{
	free(st->v);
	memset(st, 0, sizeof(*st));
}

/* Lists the versions in a state, for messages: "3_x, 5_y". */
static void list_state(char *out, size_t size, const struct mg_status *st,
                       enum mg_state state)
{
	size_t i, len = 0;
	int n;

	out[0] = '\0';
	for (i = 0; i < st->n && len + 1 < size; i++) {
		const struct mg_status_entry *e = &st->v[i];

		if (e->state != state)
			continue;
		n = snprintf(out + len, size - len, "%s%lld_%s",
		             len ? ", " : "", (long long)e->version, e->name);
		if (n < 0)
			break;
		len += (size_t)n;
	}
	if (len >= size && size > 4)
		strcpy(out + size - 4, "...");
}

int mg_plan_up(struct mg_plan *out, const struct mg_status *st,
               const struct mg_up_opts *opts, struct mg_error *err)
{
	char list[400];
	size_t i;
	bool found_to = opts->to < 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < st->n; i++) {
		const struct mg_status_entry *e = &st->v[i];

		if (e->version == opts->to && e->m != NULL)
			found_to = true;
		if (e->state == MG_STATE_DIRTY) {
			list_state(list, sizeof(list), st, MG_STATE_DIRTY);
			mg_error_set(err, MG_ERR,
			             "a migration was left "
			             "half-applied: %s",
			             list);
			mg_error_hint(err,
			              "finish or undo it by hand, then run "
			              "'migrate repair %lld --reason TEXT' "
			              "(add --applied if you completed it)",
			              (long long)e->version);
			return MG_ERR;
		}
	}
	for (i = 0; i < st->n; i++) {
		if (st->v[i].state == MG_STATE_DRIFTED) {
			list_state(list, sizeof(list), st, MG_STATE_DRIFTED);
			mg_error_set(err, MG_ECHECKSUM,
			             "applied migrations "
			             "changed since they ran: %s",
			             list);
			mg_error_hint(err,
			              "restore the files as they were "
			              "applied (see 'migrate verify'); put new "
			              "changes in a new migration");
			return MG_ECHECKSUM;
		}
	}
	if (!found_to)
		return mg_error_set(err, MG_EINVALID,
		                    "no migration file with "
		                    "version %lld",
		                    (long long)opts->to);
	if ((out->v = calloc(st->n + 1, sizeof(*out->v))) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	for (i = 0; i < st->n; i++) {
		const struct mg_status_entry *e = &st->v[i];

		if (e->state != MG_STATE_PENDING && e->state != MG_STATE_FAILED)
			continue;
		if (opts->to >= 0 && e->version > opts->to)
			continue;
		if (e->version < st->max_applied && !opts->allow_out_of_order) {
			mg_plan_dispose(out);
			mg_error_set(err, MG_EINVALID,
			             "%lld_%s is pending but "
			             "older than the newest applied "
			             "migration %lld",
			             (long long)e->version, e->name,
			             (long long)st->max_applied);
			mg_error_hint(err, "a branch was merged late: renumber "
			                   "it, or run up with "
			                   "--allow-out-of-order");
			return MG_EINVALID;
		}
		out->v[out->n++] = e->m;
	}
	return 0;
}

void mg_plan_dispose(struct mg_plan *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}
