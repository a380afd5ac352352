/* The ledger as one self-contained HTML page (issue 10). */
#include "cmd/html.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "migrator/buf.h"
#include "migrator/drivers/url.h"
#include "migrator/json.h"
#include "migrator/ledger.h"

/* Text from the database, safe in an element or an attribute value:
 * markup characters as entities, control characters dropped. */
static void esc(FILE *out, const char *s)
{
	if (s == NULL) {
		fputs("<span class=\"null\">-</span>", out);
		return;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			if (c >= 0x20 || c == '\n' || c == '\t')
				fputc(c, out);
		}
	}
}

struct problems {
	struct mg_buf text; /* one <li> per problem, escaped */
	size_t n, chain, signatures;
	int64_t *ids; /* the rows they are about */
	size_t nids;
};

static void on_problem(void *ctx, enum mg_ledger_problem kind, int64_t id,
                       int64_t version, const char *msg)
{
	struct problems *p = ctx;
	int64_t *v;
	const char *e;
	size_t i;

	(void)version;
	p->n++;
	if (kind == MG_LP_BAD_SIGNATURE || kind == MG_LP_NOT_SIGNED)
		p->signatures++;
	else
		p->chain++;
	if ((v = realloc(p->ids, (p->nids + 1) * sizeof(*v))) != NULL) {
		p->ids = v;
		p->ids[p->nids++] = id;
	}
	/* escaped here, once: the message may quote a row's text */
	mg_buf_add(&p->text, "<li>");
	for (e = msg, i = 0; e[i]; i++) {
		char c = e[i];

		if (c == '<')
			mg_buf_add(&p->text, "&lt;");
		else if (c == '>')
			mg_buf_add(&p->text, "&gt;");
		else if (c == '&')
			mg_buf_add(&p->text, "&amp;");
		else if (c == '"')
			mg_buf_add(&p->text, "&quot;");
		else if ((unsigned char)c >= 0x20)
			mg_buf_addc(&p->text, c);
	}
	mg_buf_add(&p->text, "</li>\n");
}

static bool row_has_problem(const struct problems *p, int64_t id)
{
	size_t i;

	for (i = 0; i < p->nids; i++)
		if (p->ids[i] == id)
			return true;
	return false;
}

static const char STYLE[] =
        "body{font-family:sans-serif;margin:2em;color:#111}"
        "table{border-collapse:collapse;width:100%}"
        "th,td{border:1px solid #bbb;padding:4px 6px;text-align:left;"
        "vertical-align:top;font-size:13px}"
        "th{background:#eee}"
        ".verdict{padding:1em;border:2px solid;margin:1em 0;font-size:16px}"
        ".good{border-color:#2a7;background:#e8f8ee}"
        ".bad{border-color:#c22;background:#fdeaea}"
        ".ok{color:#170}.failed,.dirty,.rolled_back{color:#b00;"
        "font-weight:bold}"
        "tr.problem td{background:#fdeaea}"
        ".null{color:#999}code,pre{font-size:12px}"
        "pre{white-space:pre-wrap;margin:0}"
        "ul.ev{margin:0;padding-left:1.2em}"
        ".hash{font-family:monospace;font-size:10px;word-break:break-all;"
        "max-width:14em}";

static void evidence_item(FILE *out, const struct mg_json_value *it)
{
	const char *kind = mg_json_object_string(it, "kind");
	int64_t line = 0, rows = 0, ms = 0, n = 0;

	fputs("<li>", out);
	if (kind != NULL && strcmp(kind, "statement") == 0) {
		if (mg_json_object_int(it, "statements", &n)) {
			fprintf(out, "statements: %lld in all, ", (long long)n);
			mg_json_object_int(it, "shown", &n);
			fprintf(out, "%lld shown", (long long)n);
		} else {
			mg_json_object_int(it, "line", &line);
			fprintf(out, "line %lld: <code>", (long long)line);
			esc(out, mg_json_object_string(it, "tag"));
			fputs("</code>", out);
			if (mg_json_object_int(it, "rows", &rows))
				fprintf(out, ", %lld rows", (long long)rows);
		}
		mg_json_object_int(it, "ms", &ms);
		fprintf(out, " (%lld ms)", (long long)ms);
	} else if (kind != NULL && strcmp(kind, "plan") == 0) {
		fputs("approved plan <code>", out);
		esc(out, mg_json_object_string(it, "file"));
		fputs("</code>, BLAKE2b-256 <code>", out);
		esc(out, mg_json_object_string(it, "hash"));
		fputs("</code>", out);
	} else {
		const char *check = mg_json_object_string(it, "check");
		const char *before = mg_json_object_string(it, "before");
		const char *after = mg_json_object_string(it, "after");

		fputs("<code>", out);
		esc(out, check != NULL ? check : kind);
		fputs("</code>", out);
		if (mg_json_object_int(it, "rows_before", &n)) {
			fprintf(out, ": %lld rows before", (long long)n);
			if (mg_json_object_int(it, "rows_after", &n))
				fprintf(out, ", %lld after", (long long)n);
		} else if (before != NULL || after != NULL) {
			fputs(": ", out);
			esc(out, before);
			fputs(" &rarr; ", out);
			esc(out, after);
		}
		if (mg_json_object_string(it, "verdict") != NULL) {
			fputs(" <b>", out);
			esc(out, mg_json_object_string(it, "verdict"));
			fputs("</b>", out);
		}
		if (mg_json_object_string(it, "note") != NULL) {
			fputs(" (", out);
			esc(out, mg_json_object_string(it, "note"));
			fputs(")", out);
		}
	}
	fputs("</li>", out);
}

/* A row's evidence: a list of what it holds, and all of it as JSON. */
static void evidence(FILE *out, const char *checks)
{
	struct mg_json_value *v = NULL;
	size_t i, n;

	if (checks == NULL || strcmp(checks, "[]") == 0) {
		fputs("<span class=\"null\">-</span>", out);
		return;
	}
	if (mg_json_parse(&v, checks, NULL) == 0 && mg_json_is_array(v)) {
		n = mg_json_array_size(v);
		fputs("<ul class=\"ev\">", out);
		for (i = 0; i < n; i++)
			evidence_item(out, mg_json_array_get(v, i));
		fputs("</ul>", out);
	}
	mg_json_value_free(v);
	fputs("<details><summary>all of it (JSON)</summary><pre>", out);
	esc(out, checks);
	fputs("</pre></details>", out);
}

static void cell(FILE *out, const char *s)
{
	fputs("<td>", out);
	esc(out, s);
	fputs("</td>", out);
}

size_t html_ledger(FILE *out, const struct mg_ledger *l,
                   const unsigned char *public_key, const struct opts *o)
{
	struct problems p = { .text = MG_BUF_INIT };
	char *target = mg_url_redact(o->database);
	char now[32];
	time_t t = time(NULL);
	struct tm tm;
	size_t i, signed_rows = 0;

	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	mg_ledger_verify(l, public_key, on_problem, &p);
	for (i = 0; i < l->n; i++)
		signed_rows += l->rows[i].f[MG_LF_SIGNATURE] != NULL;

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	      "<meta charset=\"utf-8\">\n"
	      /* nothing may be fetched or run, whatever a row holds */
	      "<meta http-equiv=\"Content-Security-Policy\" "
	      "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
	      "<title>migrate ledger: ",
	      out);
	esc(out, target);
	fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n", STYLE);
	fputs("<h1>Migration ledger</h1>\n<p>Database <code>", out);
	esc(out, target);
	fputs("</code>, ledger table <code>", out);
	esc(out, o->table);
	fprintf(out, "</code>: %zu event%s. Page made %s by ", l->n,
	        l->n == 1 ? "" : "s", now);
	esc(out, os_user());
	fputs(" on ", out);
	esc(out, host_name());
	fputs(" with migrate " MG_VERSION ".</p>\n", out);

	fprintf(out, "<div id=\"verdict\" class=\"verdict %s\">\n",
	        p.n == 0 ? "good" : "bad");
	if (p.chain == 0)
		fprintf(out,
		        "<p id=\"chain\"><b>Hash chain: intact.</b> Each of "
		        "the %zu rows' entry_hash was recomputed from its "
		        "fields and the row before it when this page was "
		        "made.</p>\n",
		        l->n);
	else
		fprintf(out,
		        "<p id=\"chain\"><b>Hash chain: BROKEN.</b> %zu "
		        "problem%s: the history was changed after it was "
		        "written.</p>\n",
		        p.chain, p.chain == 1 ? "" : "s");
	if (public_key != NULL)
		fprintf(out,
		        "<p id=\"signatures\"><b>Signatures: %s.</b> %zu of "
		        "%zu rows signed, checked against the public key "
		        "given.</p>\n",
		        p.signatures == 0 ? "valid" : "INVALID", signed_rows,
		        l->n);
	else
		fprintf(out,
		        "<p id=\"signatures\"><b>Signatures: not checked.</b> "
		        "%zu of %zu rows signed; give --public-key FILE to "
		        "check them.</p>\n",
		        signed_rows, l->n);
	if (p.n > 0 && !p.text.failed)
		fprintf(out, "<ul>\n%s</ul>\n", mg_buf_cstr(&p.text));
	fputs("</div>\n", out);

	fputs("<table>\n<tr><th>id</th><th>version</th><th>name</th>"
	      "<th>direction</th><th>status</th><th>when</th>"
	      "<th>who, where</th><th>reason</th><th>evidence</th>"
	      "<th>error</th><th>checksums, entry hash</th></tr>\n",
	      out);
	for (i = 0; i < l->n; i++) {
		const struct mg_ledger_row *row = &l->rows[i];
		const char *st = row->f[MG_LF_STATUS];
		char *end;
		int64_t id = strtoll(row->f[MG_LF_ID] ? row->f[MG_LF_ID] : "",
		                     &end, 10);

		fprintf(out, "<tr%s>", row_has_problem(&p, id)
		                               ? " class=\"problem\""
		                               : "");
		cell(out, row->f[MG_LF_ID]);
		cell(out, row->f[MG_LF_VERSION]);
		cell(out, row->f[MG_LF_NAME]);
		cell(out, row->f[MG_LF_DIRECTION]);
		/* a class from a fixed set only, never the row's text */
		fprintf(out, "<td class=\"%s\">",
		        st && strcmp(st, "ok") == 0            ? "ok"
		        : st && strcmp(st, "rolled_back") == 0 ? "rolled_back"
		        : st && strcmp(st, "dirty") == 0       ? "dirty"
		                                               : "failed");
		esc(out, st);
		fputs("</td>", out);
		fputs("<td>", out);
		esc(out, row->f[MG_LF_STARTED_AT]);
		fputs("<br>to ", out);
		esc(out, row->f[MG_LF_FINISHED_AT]);
		fputs("<br>", out);
		esc(out, row->f[MG_LF_DURATION_MS]);
		fputs(" ms</td><td>", out);
		esc(out, row->f[MG_LF_OS_USER]);
		fputs(" on ", out);
		esc(out, row->f[MG_LF_HOST]);
		fputs("<br>database user ", out);
		esc(out, row->f[MG_LF_DB_USER]);
		fputs("<br>", out);
		esc(out, row->f[MG_LF_TOOL_VERSION]);
		fputs("</td>", out);
		cell(out, row->f[MG_LF_REASON]);
		fputs("<td>", out);
		evidence(out, row->f[MG_LF_CHECKS]);
		fputs("</td><td><pre>", out);
		esc(out, row->f[MG_LF_ERROR]);
		fputs("</pre></td><td class=\"hash\">up ", out);
		esc(out, row->f[MG_LF_UP_CHECKSUM]);
		fputs("<br>down ", out);
		esc(out, row->f[MG_LF_DOWN_CHECKSUM]);
		fputs("<br>entry ", out);
		esc(out, row->f[MG_LF_ENTRY_HASH]);
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n</body>\n</html>\n", out);
	free(target);
	free(p.ids);
	mg_buf_dispose(&p.text);
	return p.n;
}
