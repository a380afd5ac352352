#include "checks/directive.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "migrator/bounds.h"
#include "migrator/error.h"

/* A cursor over one directive line, for the error messages' sake. */
struct line {
	const char *p, *end;
	unsigned no;
};

static void skip_ws(struct line *l)
{
	while (l->p < l->end &&
	       (*l->p == ' ' || *l->p == '\t' || *l->p == '\r'))
		l->p++;
}

static bool at_end(struct line *l)
{
	skip_ws(l);
	return l->p >= l->end;
}

/* Reads a bare word (letters, digits, '-', '_'); returns its length. */
static size_t word(struct line *l, const char **start)
{
	skip_ws(l);
	*start = l->p;
	while (l->p < l->end &&
	       (isalnum((unsigned char)*l->p) || *l->p == '-' || *l->p == '_'))
		l->p++;
	return (size_t)(l->p - *start);
}

static bool word_is(struct line *l, const char *w)
{
	const char *save = l->p, *s;
	size_t n = word(l, &s);

	if (n == strlen(w) && strncmp(s, w, n) == 0)
		return true;
	l->p = save;
	return false;
}

static int bad(struct mg_error *err, struct line *l, const char *what)
{
	mg_error_set(err, MG_EINVALID, "%s", what);
	if (err != NULL)
		err->line = l->no;
	return MG_EINVALID;
}

static char *dup_range(const char *s, const char *e)
{
	char *r = malloc((size_t)(e - s) + 1);

	if (r != NULL) {
		memcpy(r, s, (size_t)(e - s));
		r[e - s] = '\0';
	}
	return r;
}

/*
 * An identifier as SQL writes it: bare (letters, digits, '_', '$') or
 * quoted with "" or `` (doubled quotes inside). With `dotted`, several
 * joined by '.' (schema.table). We keep it as written: the database
 * resolves it, and a name that does not exist is reported when the check
 * first runs.
 */
static int ident(char **out, struct line *l, bool dotted, struct mg_error *err)
{
	const char *start;

	skip_ws(l);
	start = l->p;
	for (;;) {
		if (l->p < l->end && (*l->p == '"' || *l->p == '`')) {
			char q = *l->p++;

			for (;;) {
				if (l->p >= l->end)
					return bad(err, l,
					           "unterminated quoted name");
				if (*l->p++ != q)
					continue;
				if (l->p < l->end && *l->p == q) {
					l->p++; /* a doubled quote */
					continue;
				}
				break;
			}
		} else {
			const char *s = l->p;

			while (l->p < l->end &&
			       (isalnum((unsigned char)*l->p) || *l->p == '_' ||
			        *l->p == '$' || (unsigned char)*l->p >= 0x80))
				l->p++;
			if (l->p == s)
				return bad(err, l,
				           "expected a table or "
				           "column name");
		}
		if (!dotted || l->p >= l->end || *l->p != '.')
			break;
		l->p++;
	}
	if ((*out = dup_range(start, l->p)) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	return 0;
}

static int parse_cols(struct mg_check *c, struct line *l, struct mg_error *err)
{
	int rc;

	skip_ws(l);
	if (l->p >= l->end || *l->p != '(')
		return bad(err, l,
		           "expected '(' and a column list after "
		           "the table name");
	l->p++;
	for (;;) {
		char **v = realloc(c->cols, (c->ncols + 1) * sizeof(*v));

		if (v == NULL)
			return mg_error_set(err, MG_ENOMEM, "out of memory");
		c->cols = v;
		if ((rc = ident(&c->cols[c->ncols], l, false, err)) < 0)
			return rc;
		c->ncols++;
		skip_ws(l);
		if (l->p < l->end && *l->p == ',') {
			l->p++;
			continue;
		}
		if (l->p < l->end && *l->p == ')') {
			l->p++;
			return 0;
		}
		return bad(err, l, "expected ',' or ')' in the column list");
	}
}

static int read_only_query(struct line *l, const char *p, const char *e,
                           struct mg_error *err);

/* backups: -(<query>) / +(<query>): the query runs before the file and its
 * count, with the sign, is the delta. The query ends at the line's last
 * ')'. */
static int parse_delta_query(struct mg_check *c, struct line *l,
                             struct mg_error *err)
{
	const char *s = l->p + 1, *e = l->end;
	int rc;

	while (e > s && e[-1] != ')')
		e--;
	if (e <= s)
		return bad(err, l, "expected ')' after the delta's query");
	l->p = e;
	if (!at_end(l))
		return bad(err, l, "unexpected text after the delta's query");
	e--; /* the ')' */
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if (e == s)
		return bad(err, l, "the delta's query is empty");
	if ((rc = read_only_query(l, s, e, err)) < 0)
		return rc;
	if ((c->query = dup_range(s, e)) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	c->delta_from = MG_DELTA_QUERY;
	return 0;
}

static int parse_delta(struct mg_check *c, struct line *l, struct mg_error *err)
{
	const char *s;
	char *e;
	long long v;

	skip_ws(l);
	s = l->p;
	if (s >= l->end || (*s != '+' && *s != '-'))
		return bad(err, l,
		           "delta needs a signed count such as +1 "
		           "or -3");
	/* backups: -backup, -(<query>) and their + forms */
	if (l->end - s >= 7 && strncmp(s + 1, "backup", 6) == 0 &&
	    (l->end - s == 7 || !isalnum((unsigned char)s[7]))) {
		c->delta = *s == '-' ? -1 : 1;
		c->delta_from = MG_DELTA_BACKUP;
		l->p = s + 7;
		return 0;
	}
	if (s + 1 < l->end && s[1] == '(') {
		c->delta = *s == '-' ? -1 : 1;
		l->p = s + 1;
		return parse_delta_query(c, l, err);
	}
	errno = 0;
	v = strtoll(s, &e, 10);
	if (e == s + 1 || errno != 0 || e > l->end)
		return bad(err, l,
		           "delta needs a signed count such as +1 "
		           "or -3, -backup or -(<query>)");
	c->delta = v;
	l->p = e;
	return 0;
}

/* Whether [p, e) starts with keyword w, as a whole word, in any case. */
static bool starts_with_word(const char *p, const char *e, const char *w)
{
	size_t n = strlen(w);

	return (size_t)(e - p) >= n && strncasecmp(p, w, n) == 0 &&
	       ((size_t)(e - p) == n ||
	        !(isalnum((unsigned char)p[n]) || p[n] == '_'));
}

/* Past a quoted part starting at p (', ", `, $tag$, a comment); NULL
 * when p starts none. An unterminated one runs to e. */
static const char *skip_quoted(const char *p, const char *e)
{
	const char *close;
	size_t n;

	if (*p == '\'' || *p == '"' || *p == '`') {
		for (close = p + 1; close < e && *close != *p; close++)
			if (*close == '\\' && close + 1 < e)
				close++; /* MySQL's escapes; harmless elsewhere */
		return close < e ? close + 1 : e;
	}
	if (*p == '-' && p + 1 < e && p[1] == '-')
		return e; /* the rest of the line */
	if (*p == '/' && p + 1 < e && p[1] == '*') {
		for (close = p + 2; close + 1 < e; close++)
			if (close[0] == '*' && close[1] == '/')
				return close + 2;
		return e;
	}
	if (*p == '$') { /* $tag$ ... $tag$ (PostgreSQL) */
		for (n = 1; p + n < e && (isalnum((unsigned char)p[n]) ||
		                          p[n] == '_');
		     n++)
			;
		if (p + n >= e || p[n] != '$')
			return NULL;
		for (close = p + n + 1; close + n < e; close++)
			if (strncmp(close, p, n + 1) == 0)
				return close + n + 1;
		return e;
	}
	return NULL;
}

/*
 * A check reads; it must not end or change the transaction it runs in
 * (COMMIT, ROLLBACK, SET TRANSACTION, DDL that commits on MySQL) nor
 * write. So its query is one statement that starts as a query does: a
 * dry run or a rolled-back file cannot be escaped through a check.
 */
static int read_only_query(struct line *l, const char *p, const char *e,
                           struct mg_error *err)
{
	static const char *const starts[] = { "SELECT", "WITH", "VALUES",
		                              "TABLE",  "SHOW", "(" };
	const char *q;
	size_t i;

	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
		if (starts[i][0] == '(' ? *p == '('
		                        : starts_with_word(p, e, starts[i]))
			break;
	if (i == sizeof(starts) / sizeof(starts[0]))
		return bad(err, l,
		           "a check's query must read: start it with "
		           "SELECT, WITH, VALUES, TABLE or SHOW");
	for (q = p; q < e;) {
		const char *past = skip_quoted(q, e);

		if (past != NULL) {
			q = past;
			continue;
		}
		if (*q == ';')
			return bad(err, l,
			           "a check's query must be one statement: "
			           "remove the ';'");
		q++;
	}
	return 0;
}

/* The rest of the line is the query; a trailing ';' is dropped. */
static int parse_query(struct mg_check *c, struct line *l, struct mg_error *err)
{
	const char *e = l->end;
	int rc;

	skip_ws(l);
	while (e > l->p && (isspace((unsigned char)e[-1]) || e[-1] == ';'))
		e--;
	if (e == l->p)
		return bad(err, l, "the check needs a query");
	if ((rc = read_only_query(l, l->p, e, err)) < 0)
		return rc;
	if ((c->query = dup_range(l->p, e)) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	l->p = l->end;
	return 0;
}

static int parse_check(struct mg_check *c, struct line *l, struct mg_error *err)
{
	int rc;

	if (word_is(l, "rows")) {
		if ((rc = ident(&c->table, l, true, err)) < 0)
			return rc;
		if (word_is(l, "unchanged")) {
			c->kind = MG_CHECK_ROWS_UNCHANGED;
		} else if (word_is(l, "delta")) {
			c->kind = MG_CHECK_ROWS_DELTA;
			if ((rc = parse_delta(c, l, err)) < 0)
				return rc;
		} else {
			return bad(err, l,
			           "expected 'unchanged' or 'delta "
			           "<+N|-N>' after the table name");
		}
	} else if (word_is(l, "data")) {
		c->kind = MG_CHECK_DATA_UNCHANGED;
		if ((rc = ident(&c->table, l, true, err)) < 0 ||
		    (rc = parse_cols(c, l, err)) < 0)
			return rc;
		if (!word_is(l, "unchanged"))
			return bad(err, l,
			           "expected 'unchanged' after the "
			           "column list");
	} else if (word_is(l, "empty")) {
		c->kind = MG_CHECK_EMPTY;
		return parse_query(c, l, err);
	} else if (word_is(l, "true")) {
		c->kind = MG_CHECK_TRUE;
		return parse_query(c, l, err);
	} else {
		return bad(err, l,
		           "unknown check: expected rows, data, "
		           "empty or true");
	}
	if (!at_end(l))
		return bad(err, l, "unexpected text after the check");
	if (c->pre)
		return bad(err, l,
		           "check:pre takes only 'empty' or 'true' "
		           "queries");
	return 0;
}

static int add_check(struct mg_directives *d, struct line *l, bool pre,
                     const char *text, struct mg_error *err)
{
	struct mg_check *v, *c;
	int rc;

	v = realloc(d->checks, (d->nchecks + 1) * sizeof(*v));
	if (v == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	d->checks = v;
	c = &d->checks[d->nchecks++];
	memset(c, 0, sizeof(*c));
	c->pre = pre;
	c->line = l->no;
	if ((c->text = dup_range(text, l->end)) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	if ((rc = parse_check(c, l, err)) < 0)
		return rc;
	return 0;
}

/* -- migrate:ddl-lock-timeout 2s|off, -- migrate:statement-timeout 10m */
static int parse_bound(bool *has, int64_t *ms, struct line *l, const char *name,
                       struct mg_error *err)
{
	char text[32];
	const char *v;
	size_t n;

	skip_ws(l);
	v = l->p;
	while (l->p < l->end && !isspace((unsigned char)*l->p))
		l->p++;
	n = (size_t)(l->p - v);
	if (*has)
		return bad(err, l,
		           name[0] == 'd'
		                   ? "migrate:ddl-lock-timeout is set twice"
		                   : "migrate:statement-timeout is set "
		                     "twice");
	if (n >= sizeof(text))
		n = sizeof(text) - 1;
	memcpy(text, v, n);
	text[n] = '\0';
	if (v == l->p || mg_bounds_parse(ms, text, true) < 0) {
		mg_error_set(err, MG_EINVALID,
		             "migrate:%s takes a duration such as 2s, 500ms or "
		             "10m, or off, not '%s'",
		             name, text);
		if (err != NULL)
			err->line = l->no;
		return MG_EINVALID;
	}
	*has = true;
	return 0;
}

/* -- migrate:allow-lock <table> (schema-qualified or not) */
static int parse_allow_lock(struct mg_directives *d, struct line *l,
                            struct mg_error *err)
{
	const char *t;
	char **v;

	skip_ws(l);
	t = l->p;
	while (l->p < l->end && !isspace((unsigned char)*l->p))
		l->p++;
	if (l->p == t)
		return bad(err, l, "migrate:allow-lock takes a table name");
	if ((v = realloc(d->allow_lock, (d->nallow_lock + 1) * sizeof(*v))) ==
	    NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	d->allow_lock = v;
	if ((v[d->nallow_lock] = dup_range(t, l->p)) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	d->nallow_lock++;
	return 0;
}

/* -- record: <query>: kept before and after the file as evidence; it
 * reads like a check's query, and never fails the file. */
static int add_record(struct mg_directives *d, struct line *l,
                      const char *text, struct mg_error *err)
{
	struct mg_check *v, *c;

	v = realloc(d->checks, (d->nchecks + 1) * sizeof(*v));
	if (v == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	d->checks = v;
	c = &d->checks[d->nchecks++];
	memset(c, 0, sizeof(*c));
	c->kind = MG_CHECK_RECORD;
	c->line = l->no;
	l->p += 7;
	if ((c->text = dup_range(text, l->end)) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	skip_ws(l);
	if (l->p >= l->end)
		return bad(err, l, "record: needs a query");
	return parse_query(c, l, err);
}

static int parse_migrate(struct mg_directives *d, struct line *l,
                         struct mg_error *err)
{
	const char *w;
	size_t n = word(l, &w);
	int rc;

	if (n == 16 && strncmp(w, "ddl-lock-timeout", n) == 0) {
		if ((rc = parse_bound(&d->has_ddl_lock_timeout, &d->ddl_lock_ms,
		                      l, "ddl-lock-timeout", err)) < 0)
			return rc;
	} else if (n == 17 && strncmp(w, "statement-timeout", n) == 0) {
		if ((rc = parse_bound(&d->has_statement_timeout,
		                      &d->statement_ms, l, "statement-timeout",
		                      err)) < 0)
			return rc;
	} else if (n == 10 && strncmp(w, "allow-lock", n) == 0) {
		if ((rc = parse_allow_lock(d, l, err)) < 0)
			return rc;
	} else if (n == 14 && strncmp(w, "no-transaction", n) == 0)
		d->no_transaction = true;
	else if (n == 12 && strncmp(w, "irreversible", n) == 0)
		d->irreversible = true;
	else if ((n == 2 && strncmp(w, "up", n) == 0) ||
	         (n == 4 && strncmp(w, "down", n) == 0))
		return bad(err, l,
		           "dbmate's one-file layout is not "
		           "supported: split the file into "
		           "NNN_name.up.sql and NNN_name.down.sql");
	else
		return bad(err, l,
		           "unknown directive: expected "
		           "migrate:no-transaction, migrate:irreversible, "
		           "migrate:ddl-lock-timeout, "
		           "migrate:statement-timeout or migrate:allow-lock");
	if (!at_end(l))
		return bad(err, l, "unexpected text after the directive");
	return 0;
}

/* backups: the predicate of `where`, the rest of the line; one
 * expression, so no ';' outside quotes. */
static int parse_where(struct mg_backup_spec *b, struct line *l,
                       struct mg_error *err)
{
	const char *s, *e = l->end, *q;

	skip_ws(l);
	s = l->p;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if (e == s)
		return bad(err, l, "'where' needs a predicate");
	for (q = s; q < e;) {
		const char *past = skip_quoted(q, e);

		if (past != NULL) {
			q = past;
			continue;
		}
		if (*q == ';')
			return bad(err, l,
			           "a backup's predicate must be one "
			           "expression: remove the ';'");
		q++;
	}
	if ((b->where = dup_range(s, e)) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	l->p = l->end;
	return 0;
}

static bool same_table(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

/* `backup: <table> [keep <N>d] [where <predicate>]` and `restore:
 * <table>`. */
static int parse_backup(struct mg_directives *d, struct line *l, bool restore,
                        struct mg_error *err)
{
	struct mg_backup_spec **v = restore ? &d->restores : &d->backups;
	size_t *n = restore ? &d->nrestores : &d->nbackups;
	struct mg_backup_spec *b, *grown;
	size_t i;
	int rc;

	grown = realloc(*v, (*n + 1) * sizeof(**v));
	if (grown == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	*v = grown;
	b = &grown[(*n)++];
	memset(b, 0, sizeof(*b));
	b->line = l->no;
	b->keep_days = -1;
	if ((rc = ident(&b->table, l, true, err)) < 0)
		return rc;
	for (i = 0; i + 1 < *n; i++)
		if (same_table(grown[i].table, b->table))
			return bad(err, l,
			           restore ? "a second restore: of the same "
			                     "table in one file"
			                   : "a second backup: of the same "
			                     "table in one file");
	if (restore) {
		if (!at_end(l))
			return bad(err, l,
			           "unexpected text after the table: "
			           "restore: takes only a table");
		return 0;
	}
	while (!at_end(l)) {
		const char *w;
		size_t wn;

		if (word_is(l, "keep")) {
			char *e;
			long days;

			if (b->keep_days >= 0)
				return bad(err, l, "'keep' given twice");
			skip_ws(l);
			errno = 0;
			days = strtol(l->p, &e, 10);
			if (!isdigit((unsigned char)*l->p) || e >= l->end ||
			    *e != 'd' || errno != 0 || days < 0 ||
			    days > 36500 ||
			    (e + 1 < l->end && !isspace((unsigned char)e[1])))
				return bad(err, l,
				           "'keep' needs a number of days such "
				           "as 30d");
			b->keep_days = (int)days;
			l->p = e + 1;
		} else if (word_is(l, "where")) {
			return parse_where(b, l, err);
		} else {
			wn = word(l, &w);
			(void)wn;
			return bad(err, l,
			           "unknown word in backup: expected 'keep "
			           "<N>d' or 'where <predicate>'");
		}
	}
	return 0;
}

/* backups: a -backup delta needs a backup: (or restore:) of its table in
 * the same file. */
static int check_backup_deltas(const struct mg_directives *d,
                               struct mg_error *err)
{
	size_t i, j;

	for (i = 0; i < d->nchecks; i++) {
		const struct mg_check *c = &d->checks[i];
		bool found = false;

		if (c->kind != MG_CHECK_ROWS_DELTA ||
		    c->delta_from != MG_DELTA_BACKUP)
			continue;
		for (j = 0; j < d->nbackups && !found; j++)
			found = same_table(d->backups[j].table, c->table);
		for (j = 0; j < d->nrestores && !found; j++)
			found = same_table(d->restores[j].table, c->table);
		if (!found) {
			mg_error_set(err, MG_EINVALID,
			             "'rows %s delta %cbackup' needs a "
			             "backup: (or restore:) of %s in this file",
			             c->table, c->delta < 0 ? '-' : '+',
			             c->table);
			if (err != NULL)
				err->line = c->line;
			return MG_EINVALID;
		}
	}
	return 0;
}

/* Handles one line that starts with "--"; not every such line is ours. */
static int parse_line(struct mg_directives *d, struct line *l,
                      struct mg_error *err)
{
	const char *text;
	size_t rest;

	l->p += 2;
	skip_ws(l);
	text = l->p;
	rest = (size_t)(l->end - l->p);
	if (rest >= 8 && strncmp(l->p, "migrate:", 8) == 0) {
		l->p += 8;
		return parse_migrate(d, l, err);
	}
	if (rest >= 9 && strncmp(l->p, "check:pre", 9) == 0 &&
	    (rest == 9 || isspace((unsigned char)l->p[9]))) {
		l->p += 9;
		return add_check(d, l, true, text, err);
	}
	if (rest >= 7 && strncmp(l->p, "record:", 7) == 0)
		return add_record(d, l, text, err);
	if (rest >= 6 && strncmp(l->p, "check:", 6) == 0) {
		l->p += 6;
		return add_check(d, l, false, text, err);
	}
	/* backups */
	if (rest >= 7 && strncmp(l->p, "backup:", 7) == 0) {
		l->p += 7;
		return parse_backup(d, l, false, err);
	}
	if (rest >= 8 && strncmp(l->p, "restore:", 8) == 0) {
		l->p += 8;
		return parse_backup(d, l, true, err);
	}
	return 0;
}

int mg_directives_parse(struct mg_directives *out, const char *text, size_t len,
                        struct mg_error *err)
{
	struct mg_directives d = { 0 };
	const char *p = text, *end = text + len;
	struct line l = { 0 };
	int rc = 0;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		l.p = p;
		l.end = nl ? nl : end;
		l.no++;
		if (l.end - p >= 2 && p[0] == '-' && p[1] == '-' &&
		    (rc = parse_line(&d, &l, err)) < 0)
			goto cleanup;
		p = nl ? nl + 1 : end;
	}
	if ((rc = check_backup_deltas(&d, err)) < 0)
		goto cleanup;
	*out = d;
	memset(&d, 0, sizeof(d));
cleanup:
	mg_directives_dispose(&d);
	return rc;
}

void mg_directives_dispose(struct mg_directives *d)
{
	size_t i, j;

	for (i = 0; i < d->nchecks; i++) {
		struct mg_check *c = &d->checks[i];

		free(c->text);
		free(c->table);
		for (j = 0; j < c->ncols; j++)
			free(c->cols[j]);
		free(c->cols);
		free(c->query);
	}
	free(d->checks);
	for (i = 0; i < d->nallow_lock; i++)
		free(d->allow_lock[i]);
	free(d->allow_lock);
	for (i = 0; i < d->nbackups; i++) {
		free(d->backups[i].table);
		free(d->backups[i].where);
	}
	free(d->backups);
	for (i = 0; i < d->nrestores; i++)
		free(d->restores[i].table);
	free(d->restores);
	memset(d, 0, sizeof(*d));
}

const char *mg_check_kind_name(enum mg_check_kind kind)
{
	switch (kind) {
	case MG_CHECK_ROWS_UNCHANGED:
	case MG_CHECK_ROWS_DELTA:
		return "rows";
	case MG_CHECK_DATA_UNCHANGED:
		return "data";
	case MG_CHECK_EMPTY:
		return "empty";
	case MG_CHECK_TRUE:
		return "true";
	case MG_CHECK_RECORD:
		return "record";
	}
	return "?";
}
