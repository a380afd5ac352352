#include "checks/evidence.h"

#include <stdio.h>
#include <string.h>

#include "checks/check.h"
#include "migrator/buf.h"
#include "migrator/error.h"
#include "migrator/json.h"

static void on_start(void *ctx, unsigned line)
{
	struct mg_evidence *ev = ctx;

	if (ev->outer != NULL && ev->outer->stmt_start != NULL)
		ev->outer->stmt_start(ev->outer->ctx, line);
}

static void on_done(void *ctx, const struct mg_stmt_stat *st)
{
	struct mg_evidence *ev = ctx;

	if (ev->n < MG_EVIDENCE_MAX_STMTS) {
		struct mg_stmt_rec *r = &ev->v[ev->n++];

		r->line = st->line;
		snprintf(r->tag, sizeof(r->tag), "%s", st->tag ? st->tag : "");
		r->rows = st->rows;
		r->ms = st->ms;
	}
	ev->total++;
	if (st->rows > 0)
		ev->rows += st->rows;
	ev->ms += st->ms;
	if (ev->outer != NULL && ev->outer->stmt_done != NULL)
		ev->outer->stmt_done(ev->outer->ctx, st);
}

void mg_evidence_init(struct mg_evidence *ev,
                      const struct mg_script_hooks *outer)
{
	memset(ev, 0, sizeof(*ev));
	ev->outer = outer;
	ev->hooks.stmt_start = on_start;
	ev->hooks.stmt_done = on_done;
	ev->hooks.ctx = ev;
}

void mg_evidence_json(const struct mg_evidence *ev, struct mg_json *w)
{
	size_t i;

	for (i = 0; i < ev->n; i++) {
		const struct mg_stmt_rec *r = &ev->v[i];

		mg_json_object_begin(w, NULL);
		mg_json_string(w, "kind", "statement");
		mg_json_int(w, "line", r->line);
		mg_json_string(w, "tag", r->tag);
		if (r->rows >= 0)
			mg_json_int(w, "rows", r->rows);
		else
			mg_json_null(w, "rows");
		mg_json_int(w, "ms", r->ms);
		mg_json_end(w);
	}
	if (ev->total > ev->n) {
		mg_json_object_begin(w, NULL);
		mg_json_string(w, "kind", "statement");
		mg_json_bool(w, "truncated", true);
		mg_json_int(w, "statements", (int64_t)ev->total);
		mg_json_int(w, "shown", (int64_t)ev->n);
		mg_json_int(w, "rows", ev->rows);
		mg_json_int(w, "ms", ev->ms);
		mg_json_end(w);
	}
}

/* A value cut at MG_EVIDENCE_VALUE_BYTES, not inside a UTF-8 sequence. */
static void add_value(struct mg_json *w, const char *v, size_t *used)
{
	char cut[MG_EVIDENCE_VALUE_BYTES + 8];
	size_t n;

	if (v == NULL) {
		mg_json_null(w, NULL);
		return;
	}
	n = strlen(v);
	if (n > MG_EVIDENCE_VALUE_BYTES) {
		n = MG_EVIDENCE_VALUE_BYTES;
		while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
			n--;
		snprintf(cut, sizeof(cut), "%.*s...", (int)n, v);
		v = cut;
	}
	*used += n;
	mg_json_string(w, NULL, v);
}

int mg_evidence_rows_json(char **out, const struct mg_rows *r, size_t max_rows,
                          size_t max_bytes, struct mg_error *err)
{
	struct mg_buf b = MG_BUF_INIT;
	struct mg_json w;
	size_t i, j, cols = r->ncols, used = 0, shown = 0;
	char note[128];
	int rc;

	*out = NULL;
	if (cols > MG_EVIDENCE_COLS)
		cols = MG_EVIDENCE_COLS;
	mg_json_init(&w, &b);
	mg_json_array_begin(&w, NULL);
	for (i = 0; i < r->nrows && i < max_rows && used < max_bytes; i++) {
		mg_json_array_begin(&w, NULL);
		for (j = 0; j < cols; j++)
			add_value(&w, mg_rows_get(r, i, j), &used);
		mg_json_end(&w);
		shown++;
	}
	if (shown < r->nrows || cols < r->ncols) {
		snprintf(note, sizeof(note),
		         "truncated: %zu row%s of %zu column%s, %zu row%s "
		         "of %zu column%s shown",
		         r->nrows, r->nrows == 1 ? "" : "s", r->ncols,
		         r->ncols == 1 ? "" : "s", shown, shown == 1 ? "" : "s",
		         cols, cols == 1 ? "" : "s");
		mg_json_string(&w, NULL, note);
	}
	mg_json_end(&w);
	if ((rc = mg_json_check(&w, err)) == 0)
		*out = mg_buf_detach(&b);
	mg_buf_dispose(&b);
	return rc;
}
