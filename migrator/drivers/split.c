#include "migrator/drivers/split.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "migrator/error.h"

/*
 * A hand-written scanner, one pass over the file. Quotes and comments are
 * skipped whole, so a ';' inside them is never seen. What is left are
 * words and punctuation, and a few of the words decide whether a ';' ends
 * the statement: the bodies of stored programs hold semicolons of their
 * own. Servers parse those bodies with a full grammar; we only count
 * blocks, the way psql and the mysql client do, and a little better.
 */

/* What the block counting needs to know about a token. */
enum tok {
	TOK_NONE,   /* nothing yet in this statement */
	TOK_WORD,   /* a word that is none of the keywords below */
	TOK_QUOTED, /* string, quoted identifier, dollar-quoted body */
	TOK_PUNCT,  /* any character not listed here */
	TOK_SEMI,
	TOK_COLON,
	TOK_DOT,
	TOK_AT,
	TOK_EQ,
	TOK_COMMA,
	TOK_LPAREN,
	TOK_RPAREN,
	KW_ALTER,
	KW_ATOMIC,
	KW_BEGIN,
	KW_CASE,
	KW_CREATE,
	KW_CREATE_OPT, /* OR REPLACE, DEFINER = ... between CREATE and type */
	KW_DO,
	KW_ELSE,
	KW_END,
	KW_EXISTS,
	KW_FOR,
	KW_IF,
	KW_LOOP,
	KW_NOT,
	KW_PROGRAM, /* TRIGGER EVENT PACKAGE: bodies in MySQL only */
	KW_REPEAT,
	KW_ROUTINE, /* FUNCTION PROCEDURE */
	KW_ROW,
	KW_THEN,
	KW_WHILE,
	KW_WORK,
};

static const struct keyword {
	const char *word;
	enum tok tok;
} keywords[] = {
	{ "aggregate", KW_CREATE_OPT },
	{ "algorithm", KW_CREATE_OPT },
	{ "alter", KW_ALTER },
	{ "atomic", KW_ATOMIC },
	{ "begin", KW_BEGIN },
	{ "case", KW_CASE },
	{ "create", KW_CREATE },
	{ "current_user", KW_CREATE_OPT },
	{ "definer", KW_CREATE_OPT },
	{ "do", KW_DO },
	{ "editionable", KW_CREATE_OPT },
	{ "else", KW_ELSE },
	{ "end", KW_END },
	{ "event", KW_PROGRAM },
	{ "exists", KW_EXISTS },
	{ "for", KW_FOR },
	{ "function", KW_ROUTINE },
	{ "if", KW_IF },
	{ "invoker", KW_CREATE_OPT },
	{ "loop", KW_LOOP },
	{ "merge", KW_CREATE_OPT },
	{ "noneditionable", KW_CREATE_OPT },
	{ "not", KW_NOT },
	{ "or", KW_CREATE_OPT },
	{ "package", KW_PROGRAM },
	{ "procedure", KW_ROUTINE },
	{ "repeat", KW_REPEAT },
	{ "replace", KW_CREATE_OPT },
	{ "row", KW_ROW },
	{ "security", KW_CREATE_OPT },
	{ "sql", KW_CREATE_OPT },
	{ "temptable", KW_CREATE_OPT },
	{ "then", KW_THEN },
	{ "trigger", KW_PROGRAM },
	{ "undefined", KW_CREATE_OPT },
	{ "while", KW_WHILE },
	{ "work", KW_WORK },
};

/* How far the first words of a statement have been read. */
enum head {
	HEAD_START,  /* no token yet */
	HEAD_CREATE, /* CREATE or ALTER, the object type not yet seen */
	HEAD_BEGIN,  /* MySQL statement opened with BEGIN */
	HEAD_DONE,
};

/* A MySQL keyword whose meaning depends on what follows it. */
enum pend {
	PEND_NONE,
	PEND_BEGIN,  /* BEGIN: a block, unless BEGIN WORK or a column */
	PEND_IF,     /* IF or REPEAT: a statement, or a function call? */
	PEND_IF_NOT, /* IF NOT: ... EXISTS? */
	PEND_ARGS,   /* IF( or REPEAT(: a ',' at the top makes it a call */
};

/* Only this many levels remember their kind. */
#define MAX_KINDS 64

struct blocks {
	enum head head;
	bool on;      /* a stored program: count blocks */
	size_t depth; /* open blocks; a ';' inside one ends nothing */
	size_t parens;
	/* bit d: the block at depth d + 1 may END right after a value, as
	 * CASE .. END and REPEAT .. UNTIL c END REPEAT do */
	uint64_t after_value;
	enum tok prev; /* the token before this one */
	enum pend pend;
	enum tok pend_kw;   /* KW_IF or KW_REPEAT */
	enum tok pend_prev; /* the token before pend_kw */
};

struct scanner {
	const char *sql;
	size_t len;
	size_t pos;
	bool mysql;
	struct mg_error *err;

	size_t line_pos; /* every '\n' before line_pos is counted in line */
	unsigned line;
	bool line_blank; /* nothing but blanks since the last '\n' */

	const char *delim; /* mysql client DELIMITER, points into sql */
	size_t delim_len;
	bool in_exec; /* inside a MySQL executable comment */
	size_t exec_open;

	bool in_stmt;
	bool has_sql; /* the statement holds more than comments */
	size_t start;
	unsigned start_line;
	struct blocks b;

	struct mg_stmts out;
	size_t cap;
};

static bool is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/* Both servers allow '$' and any non-ASCII byte in unquoted names. */
static bool is_word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;
}

/* A PostgreSQL dollar-quote tag: an identifier without '$'. */
static bool is_tag_char(unsigned char c, bool first)
{
	if (c == '$' || (first && c >= '0' && c <= '9'))
		return false;
	return is_word_char(c);
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* word (n bytes) equals kw, a lower-case keyword, ignoring ASCII case */
static bool word_is(const char *word, size_t n, const char *kw)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (kw[i] == '\0' || lower((unsigned char)word[i]) != kw[i])
			return false;
	return kw[n] == '\0';
}

unsigned mg_sql_line_at(const char *sql, size_t off)
{
	const char *p = sql, *end = sql + off, *nl;
	unsigned line = 1;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		line++;
		p = nl + 1;
	}
	return line;
}

/* The line of byte off, counting on from the last one asked for, so that
 * a scan stays linear; offsets must be asked for in increasing order. */
static unsigned line_at(struct scanner *sc, size_t off)
{
	assert(off >= sc->line_pos);
	sc->line +=
	        mg_sql_line_at(sc->sql + sc->line_pos, off - sc->line_pos) - 1;
	sc->line_pos = off;
	return sc->line;
}

static int unterminated(struct scanner *sc, size_t open, const char *what)
{
	mg_error_set(sc->err, MG_EINVALID, "unterminated %s", what);
	if (sc->err != NULL)
		sc->err->line = line_at(sc, open);
	return MG_EINVALID;
}

static bool at_delimiter(const struct scanner *sc, size_t p)
{
	return sc->len - p >= sc->delim_len &&
	       memcmp(sc->sql + p, sc->delim, sc->delim_len) == 0;
}

static bool default_delimiter(const struct scanner *sc)
{
	return sc->delim_len == 1 && sc->delim[0] == ';';
}

/* ---- block counting ---- */

static bool is_word(enum tok t)
{
	return t == TOK_WORD || t >= KW_ALTER;
}

static void push(struct blocks *b, bool after_value)
{
	uint64_t bit = (uint64_t)1 << (b->depth % MAX_KINDS);

	if (b->depth < MAX_KINDS)
		b->after_value = after_value ? b->after_value | bit
		                             : b->after_value & ~bit;
	b->depth++;
}

static void pop(struct blocks *b)
{
	if (b->depth > 0)
		b->depth--;
}

static bool innermost_ends_after_value(const struct blocks *b)
{
	/* past MAX_KINDS the kind is not known: let any END close */
	return b->depth > MAX_KINDS || ((b->after_value >> (b->depth - 1)) & 1);
}

/* Where a statement of a MySQL stored program body can begin. */
static bool starts_statement(enum tok prev)
{
	return prev == TOK_SEMI || prev == TOK_COLON || prev == KW_BEGIN ||
	       prev == KW_THEN || prev == KW_ELSE || prev == KW_DO ||
	       prev == KW_LOOP || prev == KW_REPEAT;
}

/*
 * Reads the first tokens of a statement to learn whether it defines a
 * stored program, the only statements whose ';' may be inner ones.
 * Returns false once the head is behind us.
 */
static bool read_head(struct blocks *b, enum tok t, bool mysql)
{
	switch (b->head) {
	case HEAD_START:
		if (t == KW_CREATE || (mysql && t == KW_ALTER))
			b->head = HEAD_CREATE;
		else if (mysql && t == KW_BEGIN)
			b->head = HEAD_BEGIN;
		else
			b->head = HEAD_DONE;
		return true;
	case HEAD_CREATE:
		/*
		 * Before the type come OR REPLACE, ALGORITHM = x, DEFINER =
		 * `u`@`h` (or unquoted u@h), SQL SECURITY x: skip keywords,
		 * punctuation, quoted names and the word after '=' '@' '.'.
		 * The first other word is the type.
		 */
		if (t == KW_ROUTINE || (mysql && t == KW_PROGRAM)) {
			b->on = true;
			b->head = HEAD_DONE;
		} else if (is_word(t)) {
			if (t != KW_CREATE_OPT && b->prev != TOK_EQ &&
			    b->prev != TOK_AT && b->prev != TOK_DOT)
				b->head = HEAD_DONE;
		}
		return true;
	case HEAD_BEGIN:
		/* BEGIN NOT ATOMIC is MariaDB's anonymous block; BEGIN,
		 * BEGIN WORK start a transaction */
		b->head = HEAD_DONE;
		if (t == KW_NOT) {
			b->on = true;
			push(b, false);
		}
		return true;
	case HEAD_DONE:
		break;
	}
	return false;
}

/*
 * psql's rule, so that files behave as they do under psql -f: inside
 * CREATE [OR REPLACE] FUNCTION|PROCEDURE, BEGIN (of BEGIN ATOMIC, the SQL
 * standard body of PostgreSQL 14) opens a block, CASE opens one inside
 * it, END closes; none of them count within parentheses.
 */
static enum tok track_pg(struct blocks *b, enum tok t)
{
	if (read_head(b, t, false) || !b->on || b->parens > 0)
		return t;
	if (t == KW_BEGIN || (t == KW_CASE && b->depth > 0))
		push(b, t == KW_CASE);
	else if (t == KW_END)
		pop(b);
	return t;
}

/* Decides a pending keyword now that t, the token after it, is known. */
static void settle(struct blocks *b, enum tok t)
{
	switch (b->pend) {
	case PEND_NONE:
		break;
	case PEND_BEGIN:
		/* BEGIN WORK is a transaction; begin is not reserved in
		 * MySQL, so it may be a column: SELECT begin, x ... */
		b->pend = PEND_NONE;
		if (t != KW_WORK && t != TOK_SEMI && t != TOK_COMMA &&
		    t != TOK_RPAREN && t != TOK_EQ && t != TOK_DOT &&
		    t != TOK_PUNCT)
			push(b, false);
		break;
	case PEND_IF:
		if (t == TOK_LPAREN) {
			b->pend = PEND_ARGS;
			break;
		}
		if (b->pend_kw == KW_IF && t == KW_NOT) {
			b->pend = PEND_IF_NOT;
			break;
		}
		/* fall through */
	case PEND_IF_NOT:
		b->pend = PEND_NONE;
		if (b->pend_kw == KW_IF && t == KW_EXISTS) {
			/*
			 * DROP TABLE IF EXISTS, CREATE PROCEDURE IF NOT EXISTS
			 * are clauses; IF NOT EXISTS (SELECT ..) THEN is a
			 * statement, found where statements begin.
			 */
			if (starts_statement(b->pend_prev) ||
			    b->pend_prev == KW_ROW ||
			    b->pend_prev == TOK_RPAREN)
				push(b, false);
		} else if (t != TOK_SEMI) {
			push(b, b->pend_kw == KW_REPEAT);
		}
		break;
	case PEND_ARGS:
		/* IF(c, a, b) and REPEAT(s, n) take two or three arguments;
		 * the condition in IF (a > b) THEN has no top-level ',' */
		if (t == TOK_COMMA && b->parens == 1) {
			b->pend = PEND_NONE;
		} else if (t == TOK_RPAREN && b->parens == 0) {
			b->pend = PEND_NONE;
			push(b, b->pend_kw == KW_REPEAT);
		} else if (t == TOK_SEMI) {
			b->pend = PEND_NONE;
		}
		break;
	}
}

/*
 * MySQL and MariaDB stored programs (PROCEDURE, FUNCTION, TRIGGER, EVENT,
 * PACKAGE and BEGIN NOT ATOMIC): BEGIN, LOOP, REPEAT, WHILE, CASE, IF and
 * FOR open a block, END closes the innermost one and the word after it
 * (END IF, END LOOP ...) opens nothing. IF() and REPEAT() are also
 * functions, BEGIN and END are not reserved words, and IF EXISTS is a
 * clause of DDL, so each of those needs a closer look.
 */
static enum tok track_mysql(struct blocks *b, enum tok t)
{
	settle(b, t);
	if (read_head(b, t, true) || !b->on)
		return t;
	switch (t) {
	case KW_BEGIN:
		if (b->parens == 0 && b->prev != TOK_COMMA &&
		    b->prev != TOK_LPAREN && b->prev != TOK_EQ &&
		    b->prev != TOK_PUNCT)
			b->pend = PEND_BEGIN;
		break;
	case KW_IF:
	case KW_REPEAT:
		if (b->prev == KW_END)
			return TOK_WORD;
		if (b->parens == 0) {
			b->pend = PEND_IF;
			b->pend_kw = t;
			b->pend_prev = b->prev;
		}
		break;
	case KW_LOOP:
	case KW_WHILE:
	case KW_CASE:
		if (b->prev == KW_END)
			return TOK_WORD;
		/* a CASE expression may sit in parentheses, and ends at END */
		if (b->parens == 0 || t == KW_CASE)
			push(b, t == KW_CASE);
		break;
	case KW_FOR:
		/* MariaDB's FOR loop; not FOR EACH ROW, FOR UPDATE,
		 * HANDLER FOR, CURSOR FOR */
		if (b->prev == KW_END)
			return TOK_WORD;
		if (b->parens == 0 && starts_statement(b->prev))
			push(b, false);
		break;
	case KW_END:
		/*
		 * Every statement in a body ends with ';', so a block's END
		 * follows a ';' or its own BEGIN; only CASE and REPEAT ..
		 * UNTIL cond END REPEAT end after a value. Other ENDs are a
		 * column named end.
		 */
		if (b->depth > 0 &&
		    (innermost_ends_after_value(b) || b->prev == TOK_SEMI ||
		     b->prev == KW_BEGIN || b->prev == KW_ATOMIC)) {
			pop(b);
			break;
		}
		return TOK_WORD;
	default:
		break;
	}
	return t;
}

static void track(struct scanner *sc, enum tok t)
{
	struct blocks *b = &sc->b;

	if (t == TOK_LPAREN)
		b->parens++;
	else if (t == TOK_RPAREN && b->parens > 0)
		b->parens--;
	b->prev = sc->mysql ? track_mysql(b, t) : track_pg(b, t);
	sc->has_sql = true;
}

static enum tok classify_word(const struct scanner *sc, const char *w, size_t n)
{
	size_t i;

	/* t.end, @begin: a qualified name or a variable, never a keyword */
	if (sc->b.prev == TOK_DOT || sc->b.prev == TOK_AT)
		return TOK_WORD;
	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (word_is(w, n, keywords[i].word))
			return keywords[i].tok;
	return TOK_WORD;
}

static enum tok classify_punct(char c)
{
	switch (c) {
	case ';':
		return TOK_SEMI;
	case ':':
		return TOK_COLON;
	case '.':
		return TOK_DOT;
	case '@':
		return TOK_AT;
	case '=':
		return TOK_EQ;
	case ',':
		return TOK_COMMA;
	case '(':
		return TOK_LPAREN;
	case ')':
		return TOK_RPAREN;
	default:
		return TOK_PUNCT;
	}
}

/* ---- statements ---- */

static int append(struct scanner *sc, size_t off, size_t len, unsigned line)
{
	struct mg_stmt *v;
	size_t cap;

	if (sc->out.n == sc->cap) {
		cap = sc->cap ? sc->cap * 2 : 16;
		if (cap > SIZE_MAX / sizeof(*v))
			return mg_error_set(sc->err, MG_ENOMEM,
			                    "out of memory");
		if ((v = realloc(sc->out.v, cap * sizeof(*v))) == NULL)
			return mg_error_set(sc->err, MG_ENOMEM,
			                    "out of memory");
		sc->out.v = v;
		sc->cap = cap;
	}
	v = &sc->out.v[sc->out.n++];
	v->off = off;
	v->len = len;
	v->line = line;
	return 0;
}

static void start_stmt(struct scanner *sc)
{
	sc->in_stmt = true;
	sc->has_sql = false;
	sc->start = sc->pos;
	sc->start_line = line_at(sc, sc->pos);
}

/* Ends the statement before byte end, dropping it if it is all comments. */
static int end_stmt(struct scanner *sc, size_t end)
{
	bool keep = sc->in_stmt && sc->has_sql;

	while (keep && end > sc->start &&
	       is_blank((unsigned char)sc->sql[end - 1]))
		end--;
	sc->in_stmt = false;
	sc->has_sql = false;
	memset(&sc->b, 0, sizeof(sc->b));
	if (!keep)
		return 0;
	return append(sc, sc->start, end - sc->start, sc->start_line);
}

/*
 * The mysql client's DELIMITER command. It is not SQL and never reaches the
 * server. The client spots "delimiter " almost anywhere outside quotes; we
 * take it only at the start of a line with no SQL pending, so that a column
 * that happens to be called delimiter stays a column. As in the client,
 * the argument is one word or a quoted string, and the rest of the line is
 * ignored.
 */
static bool delimiter_command(struct scanner *sc)
{
	const char *s = sc->sql;
	const char *nl, *close;
	size_t p = sc->pos, eol, arg, end;

	if (sc->len - p < 10 || !word_is(s + p, 9, "delimiter") ||
	    (s[p + 9] != ' ' && s[p + 9] != '\t'))
		return false;
	nl = memchr(s + p, '\n', sc->len - p);
	eol = nl ? (size_t)(nl - s) : sc->len;
	for (arg = p + 10; arg < eol && (s[arg] == ' ' || s[arg] == '\t');
	     arg++)
		;
	if (arg < eol && (s[arg] == '\'' || s[arg] == '"' || s[arg] == '`') &&
	    (close = memchr(s + arg + 1, s[arg], eol - arg - 1)) != NULL) {
		arg++;
		end = (size_t)(close - s);
	} else {
		/* a CRLF file leaves '\r' after the argument: not part of it */
		for (end = arg; end < eol && !is_blank((unsigned char)s[end]);
		     end++)
			;
	}
	if (end == arg)
		return false; /* the client refuses it; so will the server */
	sc->delim = s + arg;
	sc->delim_len = end - arg;
	sc->pos = eol;
	/* comments before the command made no statement */
	sc->in_stmt = false;
	return true;
}

/* ---- tokens ---- */

/*
 * A quoted string or name whose body starts at sc->pos. A doubled quote
 * stands for one everywhere; a backslash escapes the next byte in MySQL
 * strings and PostgreSQL E'' strings.
 */
static int skip_quoted(struct scanner *sc, size_t open, char q, bool backslash,
                       const char *what)
{
	const char *s = sc->sql;
	size_t p = sc->pos;

	while (p < sc->len) {
		if (backslash && s[p] == '\\') {
			p += 2;
		} else if (s[p] != q) {
			p++;
		} else if (p + 1 < sc->len && s[p + 1] == q) {
			p += 2;
		} else {
			sc->pos = p + 1;
			track(sc, TOK_QUOTED);
			return 0;
		}
	}
	return unterminated(sc, open, what);
}

/*
 * PostgreSQL: $tag$ ... $tag$, tag empty or an identifier. `$1` is a
 * parameter. A '$' inside a word (a$b) never gets here: it belongs to
 * the word.
 */
static int skip_dollar(struct scanner *sc)
{
	const char *s = sc->sql;
	size_t open = sc->pos, p = open + 1, dlen, q;

	while (p < sc->len && is_tag_char((unsigned char)s[p], p == open + 1))
		p++;
	if (p >= sc->len || s[p] != '$') {
		/* $1, or a lone '$' */
		p = open + 1;
		while (p < sc->len && s[p] >= '0' && s[p] <= '9')
			p++;
		sc->pos = p;
		track(sc, p > open + 1 ? TOK_WORD : TOK_PUNCT);
		return 0;
	}
	dlen = p + 1 - open;
	for (q = p + 1; sc->len - q >= dlen; q++) {
		if (s[q] == '$' && memcmp(s + q, s + open, dlen) == 0) {
			sc->pos = q + dlen;
			track(sc, TOK_QUOTED);
			return 0;
		}
	}
	mg_error_set(sc->err, MG_EINVALID, "unterminated dollar quote %.*s",
	             (int)(dlen > 64 ? 64 : dlen), s + open);
	if (sc->err != NULL)
		sc->err->line = line_at(sc, open);
	return MG_EINVALID;
}

/* From sc->pos, just past "/" "*". */
static int skip_block_comment(struct scanner *sc, size_t open)
{
	const char *s = sc->sql;
	size_t p = sc->pos, depth = 1;

	while (p + 1 < sc->len) {
		if (s[p] == '*' && s[p + 1] == '/') {
			p += 2;
			if (--depth == 0) {
				sc->pos = p;
				return 0;
			}
		} else if (s[p] == '/' && s[p + 1] == '*' && !sc->mysql) {
			/* PostgreSQL nests block comments, as the standard
			 * says; MySQL does not */
			p += 2;
			depth++;
		} else {
			p++;
		}
	}
	return unterminated(sc, open, "block comment");
}

static void skip_line(struct scanner *sc)
{
	const char *nl = memchr(sc->sql + sc->pos, '\n', sc->len - sc->pos);

	sc->pos = nl ? (size_t)(nl - sc->sql) : sc->len;
}

/* MySQL needs a blank or control character after "--": 1--1 is 2. */
static bool is_line_comment(const struct scanner *sc, size_t p)
{
	unsigned char after;

	if (p + 1 >= sc->len || sc->sql[p] != '-' || sc->sql[p + 1] != '-')
		return false;
	if (!sc->mysql || p + 2 >= sc->len)
		return true;
	after = (unsigned char)sc->sql[p + 2];
	return after <= ' ' || after == 0x7f;
}

/* "/" "*" "!" or MariaDB's "/" "*" "M!", then an optional version. */
static size_t exec_comment_len(const struct scanner *sc, size_t p)
{
	const char *s = sc->sql;
	size_t q = p + 2;

	if (q < sc->len && s[q] == 'M')
		q++;
	if (q >= sc->len || s[q] != '!')
		return 0;
	for (q++; q < sc->len && s[q] >= '0' && s[q] <= '9'; q++)
		;
	return q - p;
}

static int scan_word(struct scanner *sc)
{
	const char *s = sc->sql;
	size_t p = sc->pos, q = p + 1;

	/* a DELIMITER such as $$ may follow a word directly: END$$ */
	while (q < sc->len && is_word_char((unsigned char)s[q]) &&
	       !(sc->mysql && at_delimiter(sc, q)))
		q++;
	sc->pos = q;
	if (!sc->mysql && q - p == 1 && (s[p] == 'E' || s[p] == 'e') &&
	    q < sc->len && s[q] == '\'') {
		sc->pos = q + 1;
		return skip_quoted(sc, p, '\'', true, "quoted string");
	}
	track(sc, classify_word(sc, s + p, q - p));
	return 0;
}

static int scan_token(struct scanner *sc)
{
	const char *s = sc->sql;
	size_t p = sc->pos, n;
	char c = s[p];
	char next = p + 1 < sc->len ? s[p + 1] : '\0';

	if (is_line_comment(sc, p) || (c == '#' && sc->mysql)) {
		skip_line(sc);
		return 0;
	}
	if (c == '/' && next == '*' && sc->mysql && !sc->in_exec &&
	    (n = exec_comment_len(sc, p)) > 0) {
		/*
		 * Executable comments are SQL to MySQL, and mysqldump writes
		 * statements inside them: they are statement text, and a ';'
		 * within ends nothing.
		 */
		sc->in_exec = true;
		sc->exec_open = p;
		sc->has_sql = true;
		sc->pos = p + n;
		return 0;
	}
	if (c == '/' && next == '*') {
		sc->pos = p + 2;
		return skip_block_comment(sc, p);
	}
	if (c == '*' && next == '/' && sc->in_exec) {
		sc->in_exec = false;
		sc->pos = p + 2;
		return 0;
	}
	if (c == '$' && !sc->mysql)
		return skip_dollar(sc);
	if (is_word_char((unsigned char)c))
		return scan_word(sc);

	sc->pos = p + 1;
	if (c == '\'' || (c == '"' && sc->mysql))
		return skip_quoted(sc, p, c, sc->mysql, "quoted string");
	/* "" names in PostgreSQL (and in MySQL's ANSI_QUOTES mode, which
	 * we do not follow) */
	if (c == '"' || (c == '`' && sc->mysql))
		return skip_quoted(sc, p, c, false, "quoted identifier");
	track(sc, classify_punct(c));
	return 0;
}

/* Would a delimiter here end the statement? */
static bool ends_statement(const struct scanner *sc)
{
	if (sc->in_exec)
		return false;
	if (!sc->mysql)
		return sc->b.depth == 0 && sc->b.parens == 0;
	/* the user's own DELIMITER ends it, whatever we think of blocks */
	return !default_delimiter(sc) || sc->b.depth == 0;
}

static int scan(struct scanner *sc)
{
	int rc;

	while (sc->pos < sc->len) {
		unsigned char c = (unsigned char)sc->sql[sc->pos];

		if (is_blank(c)) {
			if (c == '\n')
				sc->line_blank = true;
			sc->pos++;
			continue;
		}
		if (sc->mysql && sc->line_blank && !sc->has_sql &&
		    !sc->in_exec && delimiter_command(sc))
			continue;
		sc->line_blank = false;
		if (!sc->in_stmt)
			start_stmt(sc);
		if (at_delimiter(sc, sc->pos) && ends_statement(sc)) {
			if ((rc = end_stmt(sc, sc->pos)) < 0)
				return rc;
			sc->pos += sc->delim_len;
			continue;
		}
		if ((rc = scan_token(sc)) < 0)
			return rc;
	}
	if (sc->in_exec)
		return unterminated(sc, sc->exec_open, "executable comment");
	return end_stmt(sc, sc->len);
}

int mg_split(struct mg_stmts *out, const char *sql, size_t len,
             enum mg_split_dialect dialect, struct mg_error *err)
{
	struct scanner sc;
	int rc;

	assert(out != NULL);
	assert(sql != NULL || len == 0);
	out->v = NULL;
	out->n = 0;
	memset(&sc, 0, sizeof(sc));
	sc.sql = sql;
	sc.len = len;
	sc.mysql = dialect == MG_SPLIT_MYSQL;
	sc.err = err;
	sc.line = 1;
	sc.line_blank = true;
	sc.delim = ";";
	sc.delim_len = 1;
	/* editors on Windows start UTF-8 files with a byte order mark */
	if (len >= 3 && memcmp(sql, "\xEF\xBB\xBF", 3) == 0)
		sc.pos = sc.line_pos = 3;
	if ((rc = scan(&sc)) < 0)
		goto cleanup;
	*out = sc.out;
	sc.out.v = NULL; /* the caller owns it now */
cleanup:
	free(sc.out.v);
	return rc;
}

void mg_stmts_dispose(struct mg_stmts *s)
{
	if (s == NULL)
		return;
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* Skips blanks and comments; returns the offset of what follows. */
static size_t skip_noise(const char *sql, size_t len, size_t p)
{
	for (;;) {
		while (p < len && is_blank((unsigned char)sql[p]))
			p++;
		if (p + 1 < len && sql[p] == '-' && sql[p + 1] == '-') {
			while (p < len && sql[p] != '\n')
				p++;
		} else if (p + 1 < len && sql[p] == '/' && sql[p + 1] == '*') {
			/* nested, as PostgreSQL has them; harmless elsewhere:
			 * a statement whose words hide in a comment is only
			 * looked at more closely */
			int depth = 1;

			for (p += 2; p + 1 < len && depth > 0; p++) {
				if (sql[p] == '*' && sql[p + 1] == '/') {
					depth--;
					p++;
				} else if (sql[p] == '/' && sql[p + 1] == '*') {
					depth++;
					p++;
				}
			}
			if (depth > 0)
				p = len;
		} else {
			return p < len ? p : len;
		}
	}
}

static size_t next_word(const char *sql, size_t len, size_t *p)
{
	size_t start = *p = skip_noise(sql, len, *p);

	while (*p < len && is_word_char((unsigned char)sql[*p]))
		(*p)++;
	return *p - start;
}

const char *mg_stmt_txn_problem(const char *sql, size_t len, bool pg)
{
	const char *own = "the file controls its own transaction";
	const char *none = "the statement cannot run inside a transaction";
	size_t p = 0, n[6], w[6], i;

	for (i = 0; i < 6; i++) {
		n[i] = next_word(sql, len, &p);
		w[i] = p - n[i];
	}
#define W(i, kw) word_is(sql + w[i], n[i], kw)
	if (W(0, "begin") || W(0, "commit") || W(0, "end") || W(0, "abort"))
		return own;
	if (W(0, "rollback"))
		return W(1, "to") ? NULL : own;
	if ((W(0, "start") || W(0, "prepare")) && W(1, "transaction"))
		return own;
	if (!pg)
		return NULL;
	if (W(0, "vacuum") ||
	    ((W(0, "create") || W(0, "drop")) && W(1, "database")) ||
	    (W(0, "alter") && W(1, "system")))
		return none;
	/* CREATE [UNIQUE] INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY,
	 * REINDEX [(options)] INDEX|TABLE ... CONCURRENTLY */
	if (W(0, "create") || W(0, "drop") || W(0, "reindex"))
		for (i = 1; i < 6; i++)
			if (W(i, "concurrently"))
				return none;
#undef W
	return NULL;
}

size_t mg_stmt_skip_comments(const char *sql, size_t len)
{
	return skip_noise(sql, len, 0);
}

/* Words after CREATE that say how, not what: the tag skips them. */
static bool create_modifier(const char *w, size_t n)
{
	static const char *const mods[] = { "or",     "replace",   "unique",
		                            "temp",   "temporary", "global",
		                            "local",  "unlogged",  "definer",
		                            "algorithm", "sql", "security" };
	size_t i;

	for (i = 0; i < sizeof(mods) / sizeof(mods[0]); i++)
		if (word_is(w, n, mods[i]))
			return true;
	return false;
}

void mg_stmt_tag(char *out, size_t size, const char *sql, size_t len)
{
	size_t p = 0, n, w, o = 0, i, words = 0;

	assert(size > 0);
	while (words < 2 && (n = next_word(sql, len, &p)) > 0) {
		w = p - n;
		/* CREATE [OR REPLACE] [UNIQUE] INDEX: "CREATE INDEX" */
		if (words == 1 && create_modifier(sql + w, n))
			continue;
		if (o > 0 && o + 1 < size)
			out[o++] = ' ';
		for (i = 0; i < n && o + 1 < size; i++) {
			unsigned char c = (unsigned char)sql[w + i];

			out[o++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
		}
		words++;
		/* only DDL says what it made in its second word */
		if (words == 1 && !word_is(sql + w, n, "create") &&
		    !word_is(sql + w, n, "alter") && !word_is(sql + w, n, "drop"))
			break;
	}
	out[o] = '\0';
}

unsigned mg_stmt_own_line(const char *sql, const struct mg_stmt *s)
{
	size_t own = mg_stmt_skip_comments(sql + s->off, s->len);

	return s->line - 1 + mg_sql_line_at(sql + s->off, own);
}

int64_t mg_stmt_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

unsigned mg_line_cursor_at(struct mg_line_cursor *c, size_t off)
{
	const char *p, *end, *nl;

	if (off < c->off) { /* not expected: count afresh */
		c->off = 0;
		c->line = 1;
	}
	for (p = c->sql + c->off, end = c->sql + off;
	     p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL;
	     p = nl + 1)
		c->line++;
	c->off = off;
	return c->line;
}
