/* Unit tests of migrator/source.h: file names and directory discovery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "migrator/error.h"
#include "migrator/source.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- mg_source_parse_name ---- */

struct name_case {
	const char *file;
	int ok; /* 0: parses, -1: rejected */
	int64_t version;
	const char *name;
	bool is_up;
};

static const struct name_case name_cases[] = {
	{ "0001_init.up.sql", 0, 1, "init", true },
	{ "1_init.down.sql", 0, 1, "init", false },
	{ "0_zero.up.sql", 0, 0, "zero", true },
	{ "123456789012345678_x.up.sql", 0, 123456789012345678, "x", true },
	{ "999999999999999999_max.down.sql", 0, 999999999999999999, "max",
	  false },
	{ "000000000000000042_padded.up.sql", 0, 42, "padded", true },
	{ "20260131120000_timestamped.up.sql", 0, 20260131120000,
	  "timestamped", true },
	{ "2_add-users.table_v2.up.sql", 0, 2, "add-users.table_v2", true },
	{ "3_A.down.sql", 0, 3, "A", false },
	{ "5_1.up.sql", 0, 5, "1", true },
	{ "6__leading_underscore.up.sql", 0, 6, "_leading_underscore", true },
	{ "7_x.down.up.sql", 0, 7, "x.down", true },
	/* rejected */
	/* 19 digits, even when the value is small */
	{ "1234567890123456789_x.up.sql", -1, 0, NULL, false },
	{ "0000000000000000001_x.up.sql", -1, 0, NULL, false },
	{ "1_init.sql", -1, 0, NULL, false },
	{ "_init.up.sql", -1, 0, NULL, false },
	{ "0001_.up.sql", -1, 0, NULL, false },
	{ "1_.down.sql", -1, 0, NULL, false },
	{ "0001.up.sql", -1, 0, NULL, false },
	{ "0001init.up.sql", -1, 0, NULL, false },
	{ "a1_init.up.sql", -1, 0, NULL, false },
	{ "-1_init.up.sql", -1, 0, NULL, false },
	{ "+1_init.up.sql", -1, 0, NULL, false },
	{ " 1_init.up.sql", -1, 0, NULL, false },
	{ "1 _init.up.sql", -1, 0, NULL, false },
	{ "1_my init.up.sql", -1, 0, NULL, false },
	{ "1_init .up.sql", -1, 0, NULL, false },
	{ "1_caf\xC3\xA9.up.sql", -1, 0, NULL, false },
	{ "1_\xE2\x9C\x93.up.sql", -1, 0, NULL, false },
	{ "1_in*it.up.sql", -1, 0, NULL, false },
	{ "1_in/it.up.sql", -1, 0, NULL, false },
	{ "1_in+it.up.sql", -1, 0, NULL, false },
	{ "1_init.UP.sql", -1, 0, NULL, false },
	{ "1_init.up.SQL", -1, 0, NULL, false },
	{ "1_init.up.sql~", -1, 0, NULL, false },
	{ "1_init.upsql", -1, 0, NULL, false },
	{ "1_init.up", -1, 0, NULL, false },
	{ "1_init.sideways.sql", -1, 0, NULL, false },
	{ ".up.sql", -1, 0, NULL, false },
	{ ".down.sql", -1, 0, NULL, false },
	{ "notes.sql", -1, 0, NULL, false },
	{ "", -1, 0, NULL, false },
};

static void test_parse_name_case_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(name_cases); i++) {
		const struct name_case *c = &name_cases[i];
		int64_t version = -99;
		const char *name = NULL;
		size_t name_len = 0;
		bool is_up = !c->is_up;
		int rc = mg_source_parse_name(c->file, &version, &name,
					      &name_len, &is_up);

		if (rc != c->ok)
			print_error("'%s' gave %d, want %d\n", c->file, rc,
				    c->ok);
		assert_int_equal(rc, c->ok);
		if (rc < 0)
			continue;
		assert_int_equal(version, c->version);
		assert_int_equal(is_up, c->is_up);
		assert_non_null(name);
		assert_int_equal(name_len, strlen(c->name));
		assert_memory_equal(name, c->name, name_len);
		/* the name points into the file name */
		assert_true(name > c->file &&
			    name + name_len <= c->file + strlen(c->file));
	}
}

/*
 * Runs mg_source_parse_name in a child, so that an abort (the sanitizers
 * stop at the first signed overflow) fails this test and not the whole
 * group. Returns the child's exit status: 0 when the name was rejected,
 * 3 when it was accepted, anything else when it crashed (the sanitizers
 * exit with 1).
 */
static int parse_in_child(const char *file)
{
	int status;
	pid_t pid;

	fflush(NULL);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		int64_t v;
		const char *name;
		size_t len;
		bool up;

		_exit(mg_source_parse_name(file, &v, &name, &len, &up) < 0 ?
			      0 : 3);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static void test_parse_name_rejects_versions_past_int64(void **state)
{
	static const char *const files[] = {
		"9999999999999999999_x.up.sql",  /* 19 digits > INT64_MAX */
		"99999999999999999999_x.up.sql", /* 20 digits */
		"123456789012345678901234567890_x.up.sql",
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(files); i++) {
		int st = parse_in_child(files[i]);

		if (st != 0)
			print_error("'%s': child status %d (0: rejected, "
				    "3: accepted, else crashed)\n", files[i],
				    st);
		assert_int_equal(st, 0);
	}
}

/* ---- mg_source_load on temp dirs ---- */

struct dir_state {
	char dir[64];
	struct mg_source *src;
	struct mg_problems pr;
	struct mg_error err;
};

static void rm_tree(const char *path)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char sub[1024];

			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			rm_tree(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

static int setup(void **state)
{
	struct dir_state *s = calloc(1, sizeof(*s));
	const char *tmp = getenv("TMPDIR");

	if ((*state = s) == NULL)
		return -1;
	snprintf(s->dir, sizeof(s->dir), "%s/mg_source_XXXXXX",
		 tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	return mkdtemp(s->dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	struct dir_state *s = *state;

	mg_source_free(s->src);
	mg_problems_dispose(&s->pr);
	rm_tree(s->dir);
	free(s);
	return 0;
}

/* Writes n bytes to dir/name. */
static void put_n(struct dir_state *s, const char *name, const char *text,
		  size_t n)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

static void put(struct dir_state *s, const char *name, const char *text)
{
	put_n(s, name, text, strlen(text));
}

static void put_pair(struct dir_state *s, const char *stem)
{
	char name[128];

	snprintf(name, sizeof(name), "%s.up.sql", stem);
	put(s, name, "SELECT 1;\n");
	snprintf(name, sizeof(name), "%s.down.sql", stem);
	put(s, name, "SELECT 2;\n");
}

static int load(struct dir_state *s)
{
	mg_source_free(s->src);
	s->src = NULL;
	mg_problems_dispose(&s->pr);
	memset(&s->err, 0, sizeof(s->err));
	return mg_source_load(&s->src, s->dir, &s->pr, &s->err);
}

static void print_problems(const struct dir_state *s)
{
	size_t i;

	print_error("%s (%s)\n", s->err.msg, s->err.detail);
	for (i = 0; i < s->pr.n; i++)
		print_error("  problem: %s\n", s->pr.v[i]);
}

static void assert_loads(struct dir_state *s)
{
	int rc = load(s);

	if (rc != 0)
		print_problems(s);
	assert_int_equal(rc, 0);
	assert_non_null(s->src);
	assert_int_equal(s->pr.n, 0);
}

/* Loading fails with MG_EINVALID and exactly n problems. */
static void assert_problems(struct dir_state *s, size_t n)
{
	int rc = load(s);

	if (rc != MG_EINVALID || s->pr.n != n)
		print_problems(s);
	assert_int_equal(rc, MG_EINVALID);
	assert_int_equal(s->err.code, MG_EINVALID);
	assert_null(s->src);
	assert_int_equal(s->pr.n, n);
}

/* Some problem names dir/file. */
static void assert_problem_names(const struct dir_state *s, const char *file)
{
	char path[256];
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", s->dir, file);
	for (i = 0; i < s->pr.n; i++)
		if (strstr(s->pr.v[i], path) != NULL)
			return;
	print_problems(s);
	fail_msg("no problem names '%s'", path);
}

static void test_load_sorts_by_version_numerically(void **state)
{
	struct dir_state *s = *state;
	char path[256];

	put_pair(s, "10_ten");
	put_pair(s, "9_nine");
	put_pair(s, "0002_two");
	put_pair(s, "1_one");
	put_pair(s, "100_hundred");
	assert_loads(s);
	assert_int_equal(s->src->n, 5);
	assert_int_equal(s->src->v[0].version, 1);
	assert_int_equal(s->src->v[1].version, 2);
	assert_int_equal(s->src->v[2].version, 9);
	assert_int_equal(s->src->v[3].version, 10);
	assert_int_equal(s->src->v[4].version, 100);
	assert_string_equal(s->src->v[1].name, "two");
	assert_string_equal(s->src->v[3].name, "ten");
	snprintf(path, sizeof(path), "%s/0002_two.up.sql", s->dir);
	assert_string_equal(s->src->v[1].up.path, path);
	snprintf(path, sizeof(path), "%s/0002_two.down.sql", s->dir);
	assert_string_equal(s->src->v[1].down.path, path);
	assert_string_equal(s->src->v[1].up.text, "SELECT 1;\n");
	assert_int_equal(s->src->v[1].up.len, 10);
	assert_string_equal(s->src->v[1].down.text, "SELECT 2;\n");
	assert_int_equal(strlen(s->src->v[1].up.checksum), 64);
}

static void test_find_by_version(void **state)
{
	struct dir_state *s = *state;

	put_pair(s, "3_c");
	put_pair(s, "1_a");
	put_pair(s, "20_t");
	assert_loads(s);
	assert_non_null(mg_source_find(s->src, 1));
	assert_string_equal(mg_source_find(s->src, 3)->name, "c");
	assert_string_equal(mg_source_find(s->src, 20)->name, "t");
	assert_null(mg_source_find(s->src, 2));
	assert_null(mg_source_find(s->src, 21));
	assert_null(mg_source_find(s->src, 0));
}

static void test_load_empty_directory(void **state)
{
	struct dir_state *s = *state;

	assert_loads(s);
	assert_int_equal(s->src->n, 0);
	assert_null(mg_source_find(s->src, 1));
}

static void test_load_missing_directory_is_not_found(void **state)
{
	struct dir_state *s = *state;
	char missing[128];

	snprintf(missing, sizeof(missing), "%s/nope", s->dir);
	assert_int_equal(mg_source_load(&s->src, missing, &s->pr, &s->err),
			 MG_ENOTFOUND);
	assert_int_equal(s->err.code, MG_ENOTFOUND);
	assert_null(s->src);
	assert_non_null(strstr(s->err.msg, missing));
}

static void test_load_zero_padded_and_plain_version_are_duplicates(
	void **state)
{
	struct dir_state *s = *state;

	put(s, "0002_a.up.sql", "SELECT 1;\n");
	put(s, "2_a.up.sql", "SELECT 1;\n");
	put(s, "0002_a.down.sql", "SELECT 1;\n");
	assert_problems(s, 1);
	assert_problem_names(s, "0002_a.up.sql");
	assert_problem_names(s, "2_a.up.sql");
}

static void test_load_duplicate_version_with_other_name(void **state)
{
	struct dir_state *s = *state;

	put_pair(s, "3_add_users");
	put(s, "3_add_orders.up.sql", "SELECT 1;\n");
	put_pair(s, "4_ok");
	/* which of the pair's files also gets a follow-on complaint
	 * depends on order; both up files must be named */
	assert_int_equal(load(s), MG_EINVALID);
	assert_null(s->src);
	assert_true(s->pr.n >= 1);
	assert_problem_names(s, "3_add_orders.up.sql");
	assert_problem_names(s, "3_add_users.up.sql");
}

static void test_load_duplicate_down_files(void **state)
{
	struct dir_state *s = *state;

	put_pair(s, "5_x");
	put(s, "005_x.down.sql", "SELECT 1;\n");
	assert_problems(s, 1);
	assert_problem_names(s, "005_x.down.sql");
	assert_problem_names(s, "5_x.down.sql");
}

static void test_load_up_without_down(void **state)
{
	struct dir_state *s = *state;

	put_pair(s, "1_a");
	put(s, "2_b.up.sql", "CREATE TABLE b (id int);\n");
	assert_problems(s, 1);
	assert_problem_names(s, "2_b.up.sql");
}

static void test_load_down_without_up(void **state)
{
	struct dir_state *s = *state;

	put_pair(s, "1_a");
	put(s, "2_b.down.sql", "DROP TABLE b;\n");
	assert_problems(s, 1);
	assert_problem_names(s, "2_b.down.sql");
}

static void test_load_irreversible_without_down_is_fine(void **state)
{
	struct dir_state *s = *state;
	const struct mg_migration *m;

	put_pair(s, "1_a");
	put(s, "2_drop_legacy.up.sql",
	    "-- migrate:irreversible\nDROP TABLE legacy;\n");
	assert_loads(s);
	assert_int_equal(s->src->n, 2);
	m = mg_source_find(s->src, 2);
	assert_non_null(m);
	assert_true(m->up.dir.irreversible);
	assert_null(m->down.path);
	assert_false(s->src->v[0].up.dir.irreversible);
}

static void test_load_irreversible_with_down_is_a_problem(void **state)
{
	struct dir_state *s = *state;

	put(s, "2_drop_legacy.up.sql",
	    "DROP TABLE legacy;\n-- migrate:irreversible\n");
	put(s, "2_drop_legacy.down.sql", "CREATE TABLE legacy ();\n");
	assert_problems(s, 1);
	assert_problem_names(s, "2_drop_legacy.up.sql");
}

static void test_load_stray_sql_file_is_a_problem(void **state)
{
	struct dir_state *s = *state;

	put_pair(s, "1_a");
	put(s, "notes.sql", "-- scratch\n");
	assert_problems(s, 1);
	assert_problem_names(s, "notes.sql");
}

static void test_load_suffix_in_other_case_is_a_problem(void **state)
{
	struct dir_state *s = *state;

	put_pair(s, "1_a");
	put(s, "0005_x.UP.SQL", "SELECT 1;\n");
	put(s, "0006_y.down.Sql", "SELECT 1;\n");
	assert_problems(s, 2);
	assert_problem_names(s, "0005_x.UP.SQL");
	assert_problem_names(s, "0006_y.down.Sql");
	assert_non_null(strstr(s->pr.v[0], "in lower case"));
}

/* A 19-digit version has the right suffix: the message says what is
 * wrong (it used to say "in lower case"); a second down file of a
 * version reads "a down file". */
static void test_load_long_version_and_duplicate_say_why(void **state)
{
	struct dir_state *s = *state;

	put_pair(s, "1_a");
	put(s, "1234567890123456789_x.up.sql", "SELECT 1;\n");
	put(s, "01_a.down.sql", "SELECT 1;\n");
	assert_problems(s, 2);
	assert_problem_names(s, "1234567890123456789_x.up.sql");
	assert_null(strstr(s->pr.v[0], "lower case"));
	assert_null(strstr(s->pr.v[1], "lower case"));
	assert_true(strstr(s->pr.v[0], "1-18 digits") != NULL ||
	            strstr(s->pr.v[1], "1-18 digits") != NULL);
	assert_true(strstr(s->pr.v[0], "already has a down file") != NULL ||
	            strstr(s->pr.v[1], "already has a down file") != NULL);
}

static void test_load_refuses_a_nul_byte_with_its_line(void **state)
{
	struct dir_state *s = *state;
	static const char text[] = "CREATE TABLE a (x int);\n-- \0 hidden\n"
	                           "CREATE TABLE b (x int);\n";
	char want[256];

	put_n(s, "1_a.up.sql", text, sizeof(text) - 1);
	put(s, "1_a.down.sql", "SELECT 1;\n");
	assert_problems(s, 1);
	snprintf(want, sizeof(want), "%s/1_a.up.sql:2: a NUL byte", s->dir);
	assert_non_null(strstr(s->pr.v[0], want));
}

static void test_load_refuses_files_resolving_outside(void **state)
{
	struct dir_state *s = *state;
	char link[256], target[256], sub[256];

	put_pair(s, "1_a");
	/* a file of the directory, reached through a link: fine */
	snprintf(sub, sizeof(sub), "%s/shared", s->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	put(s, "shared/b.sql", "SELECT 1;\n");
	snprintf(link, sizeof(link), "%s/2_b.up.sql", s->dir);
	assert_int_equal(symlink("shared/b.sql", link), 0);
	put(s, "2_b.down.sql", "SELECT 1;\n");
	assert_loads(s);
	/* one that leaves it: refused, whatever it points at */
	snprintf(link, sizeof(link), "%s/3_c.up.sql", s->dir);
	assert_int_equal(symlink("/proc/self/environ", link), 0);
	snprintf(link, sizeof(link), "%s/3_c.down.sql", s->dir);
	snprintf(target, sizeof(target), "%s/../outside.sql", s->dir);
	assert_int_equal(symlink(target, link), 0);
	put(s, "../outside.sql", "SELECT 1;\n");
	assert_problems(s, 2);
	assert_problem_names(s, "3_c.up.sql");
	assert_problem_names(s, "3_c.down.sql");
	assert_non_null(strstr(s->pr.v[0], "resolves outside"));
	assert_int_equal(unlink(target), 0);
}

static void test_load_ignores_other_files_and_dotfiles(void **state)
{
	struct dir_state *s = *state;
	char sub[128];

	put_pair(s, "1_a");
	put(s, "README.md", "# migrations\n");
	put(s, "seed.csv", "id\n1\n");
	put(s, ".hidden.sql", "nonsense\n");
	put(s, ".2_b.up.sql", "SELECT 1;\n"); /* an editor's lock or backup */
	put(s, ".#3_c.up.sql", "SELECT 1;\n");
	put(s, "1_a.up.sql.orig", "SELECT 1;\n");
	snprintf(sub, sizeof(sub), "%s/seeds", s->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	put(s, "seeds/nonsense.sql", "SELECT 1;\n");
	snprintf(sub, sizeof(sub), "%s/archive.sql", s->dir);
	assert_int_equal(mkdir(sub, 0700), 0); /* a directory, not a file */
	assert_loads(s);
	assert_int_equal(s->src->n, 1);
	assert_int_equal(s->src->v[0].version, 1);
}

static void test_load_lists_every_offending_file(void **state)
{
	struct dir_state *s = *state;

	put_pair(s, "1_fine");
	put(s, "notes.sql", "\n");                       /* bad name */
	put(s, "2_init.sql", "\n");                      /* bad name */
	put(s, "3_my table.up.sql", "\n");               /* bad name */
	put(s, "4_lonely.up.sql", "\n");                 /* no down */
	put(s, "5_orphan.down.sql", "\n");               /* no up */
	put(s, "6_bad.up.sql", "-- migrate:sometimes\n"); /* directive */
	put(s, "6_bad.down.sql", "\n");
	put(s, "7_dup.up.sql", "\n");                    /* duplicate */
	put(s, "07_dup.up.sql", "\n");
	put(s, "7_dup.down.sql", "\n");
	assert_problems(s, 7);
	assert_problem_names(s, "notes.sql");
	assert_problem_names(s, "2_init.sql");
	assert_problem_names(s, "3_my table.up.sql");
	assert_problem_names(s, "4_lonely.up.sql");
	assert_problem_names(s, "5_orphan.down.sql");
	assert_problem_names(s, "6_bad.up.sql");
	assert_problem_names(s, "7_dup.up.sql");
	assert_problem_names(s, "07_dup.up.sql");
	/* the message counts them */
	assert_non_null(strstr(s->err.msg, "7"));
}

static void test_load_bad_directive_names_file_and_line(void **state)
{
	struct dir_state *s = *state;
	char want[256];

	put(s, "3_x.up.sql", "ALTER TABLE t ADD c int;\n"
			     "\n"
			     "-- check: rows t delta 3\n");
	put(s, "3_x.down.sql", "ALTER TABLE t DROP c;\n");
	assert_problems(s, 1);
	/* "path:LINE: message" */
	snprintf(want, sizeof(want), "%s/3_x.up.sql:3: ", s->dir);
	if (strncmp(s->pr.v[0], want, strlen(want)) != 0)
		print_problems(s);
	assert_int_equal(strncmp(s->pr.v[0], want, strlen(want)), 0);
	assert_true(strlen(s->pr.v[0]) > strlen(want));
}

static void test_load_bad_directive_in_down_file(void **state)
{
	struct dir_state *s = *state;
	char want[256];

	put(s, "3_x.up.sql", "SELECT 1;\n");
	put(s, "3_x.down.sql", "-- check: empty\n");
	assert_problems(s, 1);
	snprintf(want, sizeof(want), "%s/3_x.down.sql:1: ", s->dir);
	assert_int_equal(strncmp(s->pr.v[0], want, strlen(want)), 0);
}

static void test_load_parses_directives_of_both_files(void **state)
{
	struct dir_state *s = *state;

	put(s, "1_x.up.sql", "-- migrate:no-transaction\n"
			     "-- check: rows t unchanged\n"
			     "CREATE INDEX CONCURRENTLY i ON t (a);\n");
	put(s, "1_x.down.sql", "-- check:pre true SELECT true\n"
			       "DROP INDEX i;\n");
	assert_loads(s);
	assert_true(s->src->v[0].up.dir.no_transaction);
	assert_int_equal(s->src->v[0].up.dir.nchecks, 1);
	assert_false(s->src->v[0].down.dir.no_transaction);
	assert_int_equal(s->src->v[0].down.dir.nchecks, 1);
	assert_true(s->src->v[0].down.dir.checks[0].pre);
}

static void test_checksum_ignores_bom_and_crlf(void **state)
{
	struct dir_state *s = *state;
	const char lf[] =
		"-- check: rows t unchanged\nCREATE TABLE t (id int);\n";
	const char crlf[] =
		"-- check: rows t unchanged\r\nCREATE TABLE t (id int);\r\n";
	const char bom[] = "\xEF\xBB\xBF"
			   "-- check: rows t unchanged\r\n"
			   "CREATE TABLE t (id int);\r\n";
	const char other[] =
		"-- check: rows t unchanged\nCREATE TABLE t (id bigint);\n";
	char want[MG_HASH_HEX_LEN];
	size_t i;

	put(s, "1_lf.up.sql", lf);
	put(s, "2_crlf.up.sql", crlf);
	put(s, "3_bom.up.sql", bom);
	put(s, "4_other.up.sql", other);
	put(s, "5_bom_lf.up.sql", "\xEF\xBB\xBF"
				  "-- check: rows t unchanged\n"
				  "CREATE TABLE t (id int);\n");
	for (i = 1; i <= 5; i++) {
		char name[32];

		snprintf(name, sizeof(name), "%zu_%s.down.sql", i,
			 i == 1 ? "lf" : i == 2 ? "crlf" : i == 3 ? "bom" :
			 i == 4 ? "other" : "bom_lf");
		put(s, name, "SELECT 1;\n");
	}
	assert_loads(s);
	assert_int_equal(s->src->n, 5);
	mg_hash_hex(want, lf, strlen(lf));
	for (i = 0; i < 5; i++) {
		const struct mg_file *f = &s->src->v[i].up;

		if (i == 3) {
			assert_string_not_equal(f->checksum, want);
			continue;
		}
		assert_string_equal(f->checksum, want);
		assert_int_equal(f->len, strlen(lf));
		assert_string_equal(f->text, lf);
		/* the CRLF file's directive still parses */
		assert_int_equal(f->dir.nchecks, 1);
		assert_string_equal(f->dir.checks[0].table, "t");
	}
}

static void test_checksum_matches_blake2b_of_normalised_bytes(void **state)
{
	struct dir_state *s = *state;

	put(s, "1_t.up.sql", "\xEF\xBB\xBF" "CREATE TABLE t (id int);\r\n");
	put(s, "1_t.down.sql", "");
	assert_loads(s);
	/* python3 -c "import hashlib; print(hashlib.blake2b(
	 *   b'CREATE TABLE t (id int);\n',digest_size=32).hexdigest())" */
	assert_string_equal(s->src->v[0].up.checksum,
			    "a04eae571777ee447866e8dbdc57659f952dfeea"
			    "72451ae514de4cba39eb99c4");
	/* empty file: the hash of no bytes */
	assert_string_equal(s->src->v[0].down.checksum,
			    "0e5751c026e543b2e8ab2eb06099daa1d1e5df47"
			    "778f7787faab45cdf12fe3a8");
	assert_int_equal(s->src->v[0].down.len, 0);
	assert_string_equal(s->src->v[0].down.text, "");
}

static void test_load_trailing_slash_gives_clean_paths(void **state)
{
	struct dir_state *s = *state;
	char dir[128], want[256];

	put_pair(s, "1_a");
	snprintf(dir, sizeof(dir), "%s/", s->dir);
	assert_int_equal(mg_source_load(&s->src, dir, &s->pr, &s->err), 0);
	snprintf(want, sizeof(want), "%s/1_a.up.sql", s->dir);
	assert_string_equal(s->src->v[0].up.path, want);
}

static void test_file_read_normalises(void **state)
{
	struct dir_state *s = *state;
	struct mg_file f;
	char path[256];

	put(s, "x.sql", "\xEF\xBB\xBF" "a\r\nb\rc\r\n");
	snprintf(path, sizeof(path), "%s/x.sql", s->dir);
	assert_int_equal(mg_file_read(&f, path, &s->err), 0);
	assert_string_equal(f.text, "a\nb\rc\n");
	assert_int_equal(f.len, 6);
	assert_string_equal(f.path, path);
	mg_file_dispose(&f);
	snprintf(path, sizeof(path), "%s/absent.sql", s->dir);
	assert_true(mg_file_read(&f, path, &s->err) < 0);
	assert_null(f.text);
	assert_null(f.path);
}

/* Unpadded versions sort out of order by name ("10_" before "9_"): each
 * file still finds its pair, and a duplicate far from its twin is still
 * one (loading looks back only for versions not above the largest). */
static void test_load_pairs_files_whatever_the_name_order(void **state)
{
	struct dir_state *s = *state;
	char stem[32];
	int v;

	for (v = 1; v <= 40; v++) {
		snprintf(stem, sizeof(stem), "%d_m%d", v, v);
		put_pair(s, stem);
	}
	assert_loads(s);
	assert_int_equal(s->src->n, 40);
	for (v = 1; v <= 40; v++) {
		const struct mg_migration *m = mg_source_find(s->src, v);

		assert_non_null(m);
		assert_non_null(m->up.path);
		assert_non_null(m->down.path);
		snprintf(stem, sizeof(stem), "m%d", v);
		assert_string_equal(m->name, stem);
	}
	put(s, "09_m9.up.sql", "SELECT 1;\n");
	assert_problems(s, 1);
	assert_problem_names(s, "09_m9.up.sql");
	assert_problem_names(s, "9_m9.up.sql");
}

/* Many files: every one lands in its slot with its own text and
 * checksum, and problems still come in name order. */
static void test_load_many_files(void **state)
{
	struct dir_state *s = *state;
	char stem[32], text[64];
	int v;

	for (v = 1; v <= 400; v++) {
		snprintf(stem, sizeof(stem), "%04d_m.up.sql", v);
		snprintf(text, sizeof(text), "SELECT %d;\n", v);
		put(s, stem, text);
		snprintf(stem, sizeof(stem), "%04d_m.down.sql", v);
		snprintf(text, sizeof(text), "SELECT -%d;\n", v);
		put(s, stem, text);
	}
	assert_loads(s);
	assert_int_equal(s->src->n, 400);
	for (v = 1; v <= 400; v++) {
		const struct mg_migration *m = &s->src->v[v - 1];
		char want[MG_HASH_HEX_LEN];

		assert_int_equal(m->version, v);
		snprintf(text, sizeof(text), "SELECT %d;\n", v);
		assert_string_equal(m->up.text, text);
		mg_hash_hex(want, text, strlen(text));
		assert_string_equal(m->up.checksum, want);
		snprintf(text, sizeof(text), "SELECT -%d;\n", v);
		assert_string_equal(m->down.text, text);
	}
	put(s, "0007_x.up.sql", "SELECT 1;\n");
	put(s, "0300_m.down.sql.sql", "SELECT 1;\n");
	put(s, "0005_m.up.sql", "-- migrate:bogus\n");
	assert_int_equal(load(s), MG_EINVALID);
	assert_int_equal(s->pr.n, 3);
	assert_non_null(strstr(s->pr.v[0], "0005_m.up.sql"));
	assert_non_null(strstr(s->pr.v[1], "0007_x.up.sql"));
	assert_non_null(strstr(s->pr.v[2], "0300_m.down.sql.sql"));
}

/* Opened without blocking, and skipped as before: not a regular file. */
static void test_load_skips_a_fifo_named_like_a_migration(void **state)
{
	struct dir_state *s = *state;
	char path[256];

	put_pair(s, "1_a");
	snprintf(path, sizeof(path), "%s/2_pipe.up.sql", s->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_loads(s);
	assert_int_equal(s->src->n, 1);
}

/* Read whole whatever the size: empty, and past any one read's buffer. */
static void test_load_reads_empty_and_large_files_whole(void **state)
{
	struct dir_state *s = *state;
	size_t n = 300000, i;
	char *big = malloc(n), want[MG_HASH_HEX_LEN];
	struct mg_file f;

	assert_non_null(big);
	for (i = 0; i < n; i++)
		big[i] = i % 64 == 63 ? '\n' : (char)('a' + i % 26);
	put_n(s, "1_big.up.sql", big, n);
	put(s, "1_big.down.sql", "");
	assert_loads(s);
	assert_int_equal(s->src->v[0].up.len, n);
	assert_memory_equal(s->src->v[0].up.text, big, n);
	assert_int_equal(s->src->v[0].up.text[n], '\0');
	assert_int_equal(s->src->v[0].down.len, 0);
	assert_string_equal(s->src->v[0].down.text, "");
	mg_hash_hex(want, big, n);
	assert_string_equal(s->src->v[0].up.checksum, want);
	assert_int_equal(mg_file_read(&f, s->src->v[0].up.path, &s->err), 0);
	assert_int_equal(f.len, n);
	assert_string_equal(f.checksum, want);
	mg_file_dispose(&f);
	free(big);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_name_case_table),
		cmocka_unit_test(test_parse_name_rejects_versions_past_int64),
		T(test_load_sorts_by_version_numerically),
		T(test_load_suffix_in_other_case_is_a_problem),
		T(test_load_long_version_and_duplicate_say_why),
		T(test_load_refuses_a_nul_byte_with_its_line),
		T(test_load_refuses_files_resolving_outside),
		T(test_find_by_version),
		T(test_load_empty_directory),
		T(test_load_missing_directory_is_not_found),
		T(test_load_zero_padded_and_plain_version_are_duplicates),
		T(test_load_duplicate_version_with_other_name),
		T(test_load_duplicate_down_files),
		T(test_load_up_without_down),
		T(test_load_down_without_up),
		T(test_load_irreversible_without_down_is_fine),
		T(test_load_irreversible_with_down_is_a_problem),
		T(test_load_stray_sql_file_is_a_problem),
		T(test_load_ignores_other_files_and_dotfiles),
		T(test_load_lists_every_offending_file),
		T(test_load_bad_directive_names_file_and_line),
		T(test_load_bad_directive_in_down_file),
		T(test_load_parses_directives_of_both_files),
		T(test_checksum_ignores_bom_and_crlf),
		T(test_checksum_matches_blake2b_of_normalised_bytes),
		T(test_load_trailing_slash_gives_clean_paths),
		T(test_file_read_normalises),
		T(test_load_pairs_files_whatever_the_name_order),
		T(test_load_skips_a_fifo_named_like_a_migration),
		T(test_load_many_files),
		T(test_load_reads_empty_and_large_files_whole),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
