#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "migrator/error.h"
#include "migrator/drivers/split.h"

#define PG MG_SPLIT_POSTGRES
#define MY MG_SPLIT_MYSQL
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* One expected statement: where it starts and its exact text. */
struct want {
	size_t off;
	unsigned line;
	const char *text;
};

static void print_stmts(const char *sql, const struct mg_stmts *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		print_message("  [%zu] off %zu line %u: <%.*s>\n", i,
			      st->v[i].off, st->v[i].line, (int)st->v[i].len,
			      sql + st->v[i].off);
}

static void expect_split_n(enum mg_split_dialect d, const char *sql,
			   size_t len, const struct want *want, size_t n)
{
	struct mg_stmts st;
	struct mg_error err = { 0 };
	size_t i;

	if (mg_split(&st, sql, len, d, &err) != 0)
		fail_msg("mg_split <%s>: %s (%s)", sql, err.msg, err.detail);
	if (st.n != n)
		print_stmts(sql, &st);
	assert_int_equal(st.n, n);
	for (i = 0; i < n; i++) {
		if (st.v[i].off != want[i].off ||
		    st.v[i].line != want[i].line ||
		    st.v[i].len != strlen(want[i].text) ||
		    memcmp(sql + st.v[i].off, want[i].text, st.v[i].len) != 0)
			print_stmts(sql, &st);
		assert_int_equal(st.v[i].off, want[i].off);
		assert_int_equal(st.v[i].line, want[i].line);
		assert_int_equal(st.v[i].len, strlen(want[i].text));
		assert_memory_equal(sql + st.v[i].off, want[i].text,
				    st.v[i].len);
	}
	mg_stmts_dispose(&st);
}

static void expect_split(enum mg_split_dialect d, const char *sql,
			 const struct want *want, size_t n)
{
	expect_split_n(d, sql, strlen(sql), want, n);
}

/* Splits and returns the error; the output must be left empty. */
static int split_error(enum mg_split_dialect d, const char *sql,
		       struct mg_error *err)
{
	static struct mg_stmt junk;
	struct mg_stmts st = { &junk, 99 };
	int rc;

	rc = mg_split(&st, sql, strlen(sql), d, err);
	if (rc == 0) {
		print_stmts(sql, &st);
		mg_stmts_dispose(&st);
		fail_msg("no error for <%s>", sql);
	}
	assert_null(st.v);
	assert_int_equal(st.n, 0);
	return rc;
}

/* ---- PostgreSQL ---- */

static const char pg_simple[] =
	"  SELECT 1 ;\n"
	"\n"
	"\tSELECT\n"
	"  2;   \n";

static void test_pg_splits_on_semicolons_and_trims_blanks(void **state)
{
	static const struct want want[] = {
		{ 2, 1, "SELECT 1" },
		{ 15, 3,
		  "SELECT\n"
		  "  2" },
	};

	(void)state;
	expect_split(PG, pg_simple, want, N(want));
}

/*
 * Each case holds one ';' that must not split, inside the construct under
 * test; the ';' at its end does split, and "SELECT 2" follows.
 */
static const struct quoted_case {
	enum mg_split_dialect d;
	const char *sql;
} quoted_cases[] = {
	{ PG, "SELECT 'a;b';" },
	{ PG, "SELECT 'it''s;';" },
	{ PG, "SELECT E'\\';';" },
	{ PG, "SELECT e'\\\\', ';';" },
	{ PG, "SELECT U&'\\0041;';" },
	{ PG, "SELECT \"a;\"\"b\" FROM t;" },
	{ PG, "SELECT 1 -- ;\n;" },
	{ PG, "SELECT /* ; */ 1;" },
	{ PG, "SELECT /* /* ; */ ; */ 1;" },
	{ PG, "SELECT $$;$$;" },
	{ PG, "SELECT $fn$ $$; $$ $fn$;" },
	{ PG, "SELECT $a$ $ab$; $a$;" },
	{ PG, "SELECT $_x1$;$_x1$;" },
	{ PG, "SELECT ('(;');" },
	{ MY, "SELECT 'a;b';" },
	{ MY, "SELECT 'a\\';b';" },
	{ MY, "SELECT 'it''s;';" },
	{ MY, "SELECT \"a\\\";b\";" },
	{ MY, "SELECT \"x\"\";\";" },
	{ MY, "SELECT `a;b`;" },
	{ MY, "SELECT `a``;b`;" },
	{ MY, "SELECT 1 # ;\n;" },
	{ MY, "SELECT 1 -- ;\n;" },
	{ MY, "SELECT 1 --\t;\n;" },
	{ MY, "SELECT /* ; */ 1;" },
	{ MY, "SELECT /*!50000 ; */ 1;" },
	{ MY, "SELECT /*M!100000 ; */ 1;" },
	{ MY, "PREPARE s FROM 'SELECT 1; SELECT 2';" },
};

static void test_semicolons_in_quotes_and_comments_do_not_split(
	void **state)
{
	char sql[128], text[128];
	struct want want[2];
	size_t i, j, len;

	(void)state;
	for (i = 0; i < N(quoted_cases); i++) {
		const char *c = quoted_cases[i].sql;

		len = strlen(c);
		assert_true(len + 10 < sizeof(sql));
		memcpy(sql, c, len);
		memcpy(sql + len, "\nSELECT 2", 10);
		want[0] = (struct want){ 0, 1, NULL };
		want[1] = (struct want){ len + 1, 2, "SELECT 2" };
		for (j = 0; j < len; j++)
			want[1].line += c[j] == '\n';
		/* the text is the case without its final ';' and blanks */
		want[0].text = text;
		memcpy(text, c, len);
		for (j = len - 1; j > 0 && strchr(" \t\n", text[j - 1]); j--)
			;
		text[j] = '\0';
		expect_split(quoted_cases[i].d, sql, want, 2);
	}
}

static const char pg_params[] =
	"PREPARE q AS SELECT $1, $2;\n"
	"SELECT $1$2;\n"
	"SELECT a$b$c FROM t$;\n"
	"SELECT $;\n"
	"SELECT 4";

static void test_pg_dollar_digit_is_a_parameter(void **state)
{
	static const struct want want[] = {
		{ 0, 1, "PREPARE q AS SELECT $1, $2" },
		{ 28, 2, "SELECT $1$2" },
		{ 41, 3, "SELECT a$b$c FROM t$" },
		{ 63, 4, "SELECT $" },
		{ 73, 5, "SELECT 4" },
	};

	(void)state;
	expect_split(PG, pg_params, want, N(want));
}

static const char pg_backslash[] =
	"SELECT '\\';\n"
	"SELECT E'\\'';\n"
	"SELECT e'\\\\';\n"
	"SELECT E'it''s';\n"
	"SELECT 5";

static void test_pg_backslash_escapes_only_in_e_strings(void **state)
{
	static const struct want want[] = {
		{ 0, 1, "SELECT '\\'" },
		{ 12, 2, "SELECT E'\\''" },
		{ 26, 3, "SELECT e'\\\\'" },
		{ 40, 4, "SELECT E'it''s'" },
		{ 57, 5, "SELECT 5" },
	};

	(void)state;
	expect_split(PG, pg_backslash, want, N(want));
}

static const char pg_nested[] =
	"/* outer /* inner; */ still; comment */ SELECT 1;\n"
	"SELECT /**/ 2;";

static void test_pg_block_comments_nest(void **state)
{
	static const struct want want[] = {
		{ 0, 1, "/* outer /* inner; */ still; comment */ SELECT 1" },
		{ 50, 2, "SELECT /**/ 2" },
	};

	(void)state;
	expect_split(PG, pg_nested, want, N(want));
}

static const char pg_plpgsql[] =
	"CREATE FUNCTION audit() RETURNS trigger AS $body$\n"
	"BEGIN\n"
	"  EXECUTE $$INSERT INTO log VALUES ('x;y')$$;\n"
	"  RAISE NOTICE 'done; ok';\n"
	"  RETURN NEW;\n"
	"END;\n"
	"$body$ LANGUAGE plpgsql;\n"
	"CREATE INDEX CONCURRENTLY log_at ON log (at);\n";

static void test_pg_dollar_quoted_body_is_one_statement(
	void **state)
{
	static const struct want want[] = {
		{ 0, 1,
		  "CREATE FUNCTION audit() RETURNS trigger AS $body$\n"
		  "BEGIN\n"
		  "  EXECUTE $$INSERT INTO log VALUES ('x;y')$$;\n"
		  "  RAISE NOTICE 'done; ok';\n"
		  "  RETURN NEW;\n"
		  "END;\n"
		  "$body$ LANGUAGE plpgsql" },
		{ 173, 8, "CREATE INDEX CONCURRENTLY log_at ON log (at)" },
	};

	(void)state;
	expect_split(PG, pg_plpgsql, want, N(want));
}

static const char pg_atomic[] =
	"CREATE OR REPLACE FUNCTION grade(score int) RETURNS text\n"
	"LANGUAGE SQL\n"
	"BEGIN ATOMIC\n"
	"  INSERT INTO seen VALUES (score);\n"
	"  SELECT CASE WHEN score > 90 THEN 'a'\n"
	"              ELSE CASE WHEN score > 50 THEN 'b' END\n"
	"         END;\n"
	"END;\n"
	"CREATE PROCEDURE p() BEGIN ATOMIC END;\n"
	"SELECT grade(1);\n";

static void test_pg_begin_atomic_body_is_one_statement(void **state)
{
	static const struct want want[] = {
		{ 0, 1,
		  "CREATE OR REPLACE FUNCTION grade(score int) RETURNS "
		  "text\n"
		  "LANGUAGE SQL\n"
		  "BEGIN ATOMIC\n"
		  "  INSERT INTO seen VALUES (score);\n"
		  "  SELECT CASE WHEN score > 90 THEN 'a'\n"
		  "              ELSE CASE WHEN score > 50 THEN 'b' END\n"
		  "         END;\n"
		  "END" },
		{ 229, 9, "CREATE PROCEDURE p() BEGIN ATOMIC END" },
		{ 268, 10, "SELECT grade(1)" },
	};

	(void)state;
	expect_split(PG, pg_atomic, want, N(want));
}

static const char pg_txn[] =
	"BEGIN;\n"
	"UPDATE t SET a = CASE WHEN b THEN 1 END;\n"
	"END;\n"
	"begin_at;\n";

static void test_pg_begin_outside_a_function_is_a_transaction(void **state)
{
	static const struct want want[] = {
		{ 0, 1, "BEGIN" },
		{ 7, 2, "UPDATE t SET a = CASE WHEN b THEN 1 END" },
		{ 48, 3, "END" },
		{ 53, 4, "begin_at" },
	};

	(void)state;
	expect_split(PG, pg_txn, want, N(want));
}

static const char pg_rule[] =
	"CREATE RULE r AS ON INSERT TO t DO ALSO (\n"
	"  INSERT INTO a VALUES (1);\n"
	"  INSERT INTO b VALUES (2)\n"
	");\n"
	"SELECT 3;";

static void test_pg_semicolons_in_parentheses_do_not_split(void **state)
{
	static const struct want want[] = {
		{ 0, 1,
		  "CREATE RULE r AS ON INSERT TO t DO ALSO (\n"
		  "  INSERT INTO a VALUES (1);\n"
		  "  INSERT INTO b VALUES (2)\n"
		  ")" },
		{ 100, 5, "SELECT 3" },
	};

	(void)state;
	expect_split(PG, pg_rule, want, N(want));
}

/* ---- MySQL ---- */

static const char my_dashes[] =
	"SELECT 5--1;\n"
	"SELECT 6 --\n"
	";\n"
	"SELECT 7 -- x; y\n"
	";\n"
	"SELECT 8 #;\n"
	";\n"
	"SELECT /* /* */ 9;";

static void test_mysql_comment_rules(void **state)
{
	static const struct want want[] = {
		{ 0, 1, "SELECT 5--1" },
		{ 13, 2, "SELECT 6 --" },
		{ 27, 4, "SELECT 7 -- x; y" },
		{ 46, 6, "SELECT 8 #;" },
		{ 60, 8, "SELECT /* /* */ 9" },
	};

	(void)state;
	expect_split(MY, my_dashes, want, N(want));
}

static const char my_dump[] =
	"-- MySQL dump 10.13\n"
	"\n"
	"/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n"
	"/*!40101 SET NAMES utf8mb4 */;\n"
	"SET NAMES utf8mb4;\n"
	"/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 "
	"*/;\n"
	"\n"
	"--\n"
	"-- Dumping data for table `t`\n"
	"--\n"
	"\n"
	"LOCK TABLES `t` WRITE;\n"
	"/*!40000 ALTER TABLE `t` DISABLE KEYS */;\n"
	"INSERT INTO `t` VALUES ('a;b'),('c\\'d'),(\"e\\\";\");\n"
	"/*!40000 ALTER TABLE `t` ENABLE KEYS */;\n"
	"UNLOCK TABLES;\n"
	"/*M!100616 SET NOTE_VERBOSITY=@OLD_NOTE_VERBOSITY */;\n";

static void test_mysql_dump_header_keeps_executable_comments(void **state)
{
	static const struct want want[] = {
		{ 0, 1,
		  "-- MySQL dump 10.13\n"
		  "\n"
		  "/*!40101 SET "
		  "@OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */" },
		{ 87, 4, "/*!40101 SET NAMES utf8mb4 */" },
		{ 118, 5, "SET NAMES utf8mb4" },
		{ 137, 6,
		  "/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, "
		  "UNIQUE_CHECKS=0 */" },
		{ 207, 8,
		  "--\n"
		  "-- Dumping data for table `t`\n"
		  "--\n"
		  "\n"
		  "LOCK TABLES `t` WRITE" },
		{ 267, 13, "/*!40000 ALTER TABLE `t` DISABLE KEYS */" },
		{ 309, 14,
		  "INSERT INTO `t` VALUES ('a;b'),('c\\'d'),(\"e\\\";\")" },
		{ 359, 15, "/*!40000 ALTER TABLE `t` ENABLE KEYS */" },
		{ 400, 16, "UNLOCK TABLES" },
		{ 415, 17,
		  "/*M!100616 SET NOTE_VERBOSITY=@OLD_NOTE_VERBOSITY */" },
	};

	(void)state;
	expect_split(MY, my_dump, want, N(want));
}

static const char my_exec[] =
	"/*!50003 SET a = 1; SET b = 2 */;\n"
	"SELECT 1 /*!, 'x;y' */;\n"
	"/* plain; */ SELECT 2;";

static void test_mysql_executable_comment_hides_semicolons(void **state)
{
	static const struct want want[] = {
		{ 0, 1, "/*!50003 SET a = 1; SET b = 2 */" },
		{ 34, 2, "SELECT 1 /*!, 'x;y' */" },
		{ 58, 3, "/* plain; */ SELECT 2" },
	};

	(void)state;
	expect_split(MY, my_exec, want, N(want));
}

static const char my_delim[] =
	"DROP PROCEDURE IF EXISTS p;\n"
	"DELIMITER $$\n"
	"CREATE PROCEDURE p()\n"
	"BEGIN\n"
	"  SELECT 'a$$b'; -- $$ in a comment\n"
	"  SELECT 2;\n"
	"END$$\n"
	"CREATE FUNCTION f() RETURNS INT RETURN 1 $$\n"
	"CREATE PROCEDURE q() BEGIN SELECT begin FROM t; END$$\n"
	"DELIMITER ;\n"
	"CALL p();\n";

/*
 * The user's DELIMITER wins even where the block count is off: in q,
 * `begin` is a column that the count takes for a block.
 */
static void test_mysql_delimiter_lines_change_the_delimiter(void **state)
{
	static const struct want want[] = {
		{ 0, 1, "DROP PROCEDURE IF EXISTS p" },
		{ 41, 3,
		  "CREATE PROCEDURE p()\n"
		  "BEGIN\n"
		  "  SELECT 'a$$b'; -- $$ in a comment\n"
		  "  SELECT 2;\n"
		  "END" },
		{ 122, 8, "CREATE FUNCTION f() RETURNS INT RETURN 1" },
		{ 166, 9,
		  "CREATE PROCEDURE q() BEGIN SELECT begin FROM t; END" },
		{ 232, 11, "CALL p()" },
	};

	(void)state;
	expect_split(MY, my_delim, want, N(want));
}

static const char my_delim_forms[] =
	"delimiter //\n"
	"SELECT 1; SELECT 2//\n"
	"  Delimiter ;;   -- trailing words are ignored\n"
	"SELECT 3;;\n"
	"DELIMITER ':'\n"
	"SELECT 4:\n"
	"DELIMITER ;\r\n"
	"SELECT 5;";

static void test_mysql_delimiter_command_forms(void **state)
{
	static const struct want want[] = {
		{ 13, 2, "SELECT 1; SELECT 2" },
		{ 81, 4, "SELECT 3" },
		{ 106, 6, "SELECT 4" },
		{ 129, 8, "SELECT 5" },
	};

	(void)state;
	expect_split(MY, my_delim_forms, want, N(want));
}

static const char my_delimiter_column[] =
	"CREATE TABLE csv_format (\n"
	"delimiter CHAR(1)\n"
	");\n"
	"SELECT 1;";

static void test_mysql_delimiter_inside_a_statement_is_sql(void **state)
{
	static const struct want want[] = {
		{ 0, 1,
		  "CREATE TABLE csv_format (\n"
		  "delimiter CHAR(1)\n"
		  ")" },
		{ 47, 4, "SELECT 1" },
	};

	(void)state;
	expect_split(MY, my_delimiter_column, want, N(want));
}

static const char my_dump_trigger[] =
	"DELIMITER ;;\n"
	"/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 "
	"TRIGGER `trg` BEFORE INSERT ON `t` FOR EACH ROW BEGIN\n"
	"  SET NEW.a = 1;\n"
	"END */;;\n"
	"DELIMITER ;\n"
	"/*!50003 SET sql_mode = @saved_sql_mode */ ;\n";

static void test_mysql_dump_trigger_in_executable_comments(void **state)
{
	static const struct want want[] = {
		{ 13, 2,
		  "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ "
		  "/*!50003 TRIGGER `trg` BEFORE INSERT ON `t` FOR EACH ROW "
		  "BEGIN\n"
		  "  SET NEW.a = 1;\n"
		  "END */" },
		{ 170, 6, "/*!50003 SET sql_mode = @saved_sql_mode */" },
	};

	(void)state;
	expect_split(MY, my_dump_trigger, want, N(want));
}

static const char my_trigger[] =
	"CREATE TRIGGER trg_dates BEFORE INSERT ON booking\n"
	"FOR EACH ROW\n"
	"BEGIN\n"
	"  IF NEW.end_date IS NULL THEN\n"
	"    SET NEW.end_date = NEW.begin_at + INTERVAL 1 DAY;\n"
	"  ELSEIF NEW.end_date < NEW.begin_at THEN\n"
	"    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'end; before begin';\n"
	"  END IF;\n"
	"END;\n"
	"CREATE TRIGGER trg_one AFTER DELETE ON booking FOR EACH ROW\n"
	"  IF OLD.id > 0 THEN DELETE FROM x WHERE id = OLD.id; END IF;\n"
	"INSERT INTO booking (begin_at) VALUES (NOW());\n";

static void test_mysql_trigger_without_delimiter_is_one_statement(
	void **state)
{
	static const struct want want[] = {
		{ 0, 1,
		  "CREATE TRIGGER trg_dates BEFORE INSERT ON booking\n"
		  "FOR EACH ROW\n"
		  "BEGIN\n"
		  "  IF NEW.end_date IS NULL THEN\n"
		  "    SET NEW.end_date = NEW.begin_at + INTERVAL 1 DAY;\n"
		  "  ELSEIF NEW.end_date < NEW.begin_at THEN\n"
		  "    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'end; "
		  "before begin';\n"
		  "  END IF;\n"
		  "END" },
		{ 279, 10,
		  "CREATE TRIGGER trg_one AFTER DELETE ON booking FOR EACH "
		  "ROW\n"
		  "  IF OLD.id > 0 THEN DELETE FROM x WHERE id = OLD.id; "
		  "END IF" },
		{ 401, 12, "INSERT INTO booking (begin_at) VALUES (NOW())" },
	};

	(void)state;
	expect_split(MY, my_trigger, want, N(want));
}

static const char my_proc[] =
	"CREATE DEFINER=`admin`@`%` PROCEDURE fill(IN n INT)\n"
	"  MODIFIES SQL DATA\n"
	"BEGIN\n"
	"  DECLARE i INT DEFAULT 0;\n"
	"  DECLARE done INT DEFAULT 0;\n"
	"  DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1;\n"
	"  fill_loop: LOOP\n"
	"    SET i = i + 1;\n"
	"    CASE\n"
	"      WHEN i > n THEN LEAVE fill_loop;\n"
	"      WHEN i % 2 = 0 THEN INSERT INTO t VALUES (i, 'even');\n"
	"      ELSE INSERT INTO t VALUES (i, IF(i > 5, 'big', 'odd'));\n"
	"    END CASE;\n"
	"  END LOOP fill_loop;\n"
	"  WHILE i > 0 DO SET i = i - 1; END WHILE;\n"
	"  REPEAT SET i = i + 1; UNTIL i >= 3 END REPEAT;\n"
	"  SELECT CASE WHEN n > 0 THEN 'pos' ELSE 'neg' END AS sign;\n"
	"END;\n"
	"CALL fill(10);\n";

static void test_mysql_procedure_with_case_and_loops(void **state)
{
	static const struct want want[] = {
		{ 0, 1,
		  "CREATE DEFINER=`admin`@`%` PROCEDURE fill(IN n INT)\n"
		  "  MODIFIES SQL DATA\n"
		  "BEGIN\n"
		  "  DECLARE i INT DEFAULT 0;\n"
		  "  DECLARE done INT DEFAULT 0;\n"
		  "  DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1;\n"
		  "  fill_loop: LOOP\n"
		  "    SET i = i + 1;\n"
		  "    CASE\n"
		  "      WHEN i > n THEN LEAVE fill_loop;\n"
		  "      WHEN i % 2 = 0 THEN INSERT INTO t VALUES (i, "
		  "'even');\n"
		  "      ELSE INSERT INTO t VALUES (i, IF(i > 5, 'big', "
		  "'odd'));\n"
		  "    END CASE;\n"
		  "  END LOOP fill_loop;\n"
		  "  WHILE i > 0 DO SET i = i - 1; END WHILE;\n"
		  "  REPEAT SET i = i + 1; UNTIL i >= 3 END REPEAT;\n"
		  "  SELECT CASE WHEN n > 0 THEN 'pos' ELSE 'neg' END AS "
		  "sign;\n"
		  "END" },
		{ 590, 19, "CALL fill(10)" },
	};

	(void)state;
	expect_split(MY, my_proc, want, N(want));
}

static const char my_words[] =
	"CREATE PROCEDURE spans()\n"
	"BEGIN\n"
	"  SELECT start, end, r.end, begin_at, end_date, endless\n"
	"    FROM ranges r WHERE end > begin_at ORDER BY end;\n"
	"  UPDATE ranges SET end = NULL, `begin` = 1;\n"
	"  SELECT r.begin FROM ranges r WHERE @begin IS NULL;\n"
	"  SET @end = 1;\n"
	"END;\n"
	"SELECT 1;";

static void test_mysql_begin_and_end_count_only_as_keywords(void **state)
{
	static const struct want want[] = {
		{ 0, 1,
		  "CREATE PROCEDURE spans()\n"
		  "BEGIN\n"
		  "  SELECT start, end, r.end, begin_at, end_date, endless\n"
		  "    FROM ranges r WHERE end > begin_at ORDER BY end;\n"
		  "  UPDATE ranges SET end = NULL, `begin` = 1;\n"
		  "  SELECT r.begin FROM ranges r WHERE @begin IS NULL;\n"
		  "  SET @end = 1;\n"
		  "END" },
		{ 259, 9, "SELECT 1" },
	};

	(void)state;
	expect_split(MY, my_words, want, N(want));
}

static const char my_if_forms[] =
	"CREATE PROCEDURE ensure()\n"
	"BEGIN\n"
	"  DROP TABLE IF EXISTS tmp;\n"
	"  CREATE TABLE IF NOT EXISTS tmp (a INT);\n"
	"  ALTER TABLE tmp ADD COLUMN IF NOT EXISTS b INT;\n"
	"  SET @s = IF(1 > 0, REPEAT('-', 3), '');\n"
	"  IF NOT EXISTS (SELECT 1 FROM tmp) THEN\n"
	"    INSERT INTO tmp VALUES (1, 2);\n"
	"  END IF;\n"
	"  IF (SELECT COUNT(*) FROM tmp) > 0 THEN SELECT 1; END IF;\n"
	"  IF NOT @s = '' THEN SELECT 2; END IF;\n"
	"END;\n"
	"CREATE PROCEDURE IF NOT EXISTS q() SELECT 1;\n"
	"CREATE PROCEDURE r()\n"
	"  IF EXISTS (SELECT 1 FROM t) THEN DELETE FROM t; END IF;\n"
	"CREATE TRIGGER trg AFTER INSERT ON t FOR EACH ROW\n"
	"  IF NOT EXISTS (SELECT 1 FROM u) THEN\n"
	"    INSERT INTO u VALUES (NEW.id);\n"
	"  END IF;\n"
	"SELECT 3;";

static void test_mysql_if_function_and_if_exists_open_no_block(void **state)
{
	static const struct want want[] = {
		{ 0, 1,
		  "CREATE PROCEDURE ensure()\n"
		  "BEGIN\n"
		  "  DROP TABLE IF EXISTS tmp;\n"
		  "  CREATE TABLE IF NOT EXISTS tmp (a INT);\n"
		  "  ALTER TABLE tmp ADD COLUMN IF NOT EXISTS b INT;\n"
		  "  SET @s = IF(1 > 0, REPEAT('-', 3), '');\n"
		  "  IF NOT EXISTS (SELECT 1 FROM tmp) THEN\n"
		  "    INSERT INTO tmp VALUES (1, 2);\n"
		  "  END IF;\n"
		  "  IF (SELECT COUNT(*) FROM tmp) > 0 THEN SELECT 1; END "
		  "IF;\n"
		  "  IF NOT @s = '' THEN SELECT 2; END IF;\n"
		  "END" },
		{ 384, 13, "CREATE PROCEDURE IF NOT EXISTS q() SELECT 1" },
		{ 429, 14,
		  "CREATE PROCEDURE r()\n"
		  "  IF EXISTS (SELECT 1 FROM t) THEN DELETE FROM t; END IF" },
		{ 508, 16,
		  "CREATE TRIGGER trg AFTER INSERT ON t FOR EACH ROW\n"
		  "  IF NOT EXISTS (SELECT 1 FROM u) THEN\n"
		  "    INSERT INTO u VALUES (NEW.id);\n"
		  "  END IF" },
		{ 642, 20, "SELECT 3" },
	};

	(void)state;
	expect_split(MY, my_if_forms, want, N(want));
}

static const char my_oneliners[] =
	"CREATE FUNCTION one() RETURNS INT DETERMINISTIC RETURN 1;\n"
	"CREATE FUNCTION sgn(x INT) RETURNS INT RETURN IF(x < 0, -1, 1);\n"
	"CREATE FUNCTION pad(s TEXT) RETURNS TEXT RETURN CONCAT(REPEAT(' ', "
	"2), s);\n"
	"CREATE EVENT purge ON SCHEDULE EVERY 1 DAY DO DELETE FROM log;\n"
	"SELECT one();";

static void test_mysql_single_statement_bodies_end_at_semicolon(
	void **state)
{
	static const struct want want[] = {
		{ 0, 1,
		  "CREATE FUNCTION one() RETURNS INT DETERMINISTIC RETURN 1" },
		{ 58, 2,
		  "CREATE FUNCTION sgn(x INT) RETURNS INT RETURN IF(x < 0, "
		  "-1, 1)" },
		{ 122, 3,
		  "CREATE FUNCTION pad(s TEXT) RETURNS TEXT RETURN "
		  "CONCAT(REPEAT(' ', 2), s)" },
		{ 197, 4,
		  "CREATE EVENT purge ON SCHEDULE EVERY 1 DAY DO DELETE "
		  "FROM log" },
		{ 260, 5, "SELECT one()" },
	};

	(void)state;
	expect_split(MY, my_oneliners, want, N(want));
}

static const char my_txn[] =
	"BEGIN;\n"
	"INSERT INTO t (begin, end) VALUES (1, 2);\n"
	"COMMIT;\n"
	"BEGIN WORK;\n"
	"SELECT CASE WHEN a THEN 1 END FROM t;\n"
	"ROLLBACK;";

static void test_mysql_begin_starts_a_transaction_in_plain_scripts(
	void **state)
{
	static const struct want want[] = {
		{ 0, 1, "BEGIN" },
		{ 7, 2, "INSERT INTO t (begin, end) VALUES (1, 2)" },
		{ 49, 3, "COMMIT" },
		{ 57, 4, "BEGIN WORK" },
		{ 69, 5, "SELECT CASE WHEN a THEN 1 END FROM t" },
		{ 107, 6, "ROLLBACK" },
	};

	(void)state;
	expect_split(MY, my_txn, want, N(want));
}

static const char my_not_atomic[] =
	"BEGIN NOT ATOMIC\n"
	"  DECLARE x INT DEFAULT 0;\n"
	"  FOR i IN 1..3 DO SET x = x + i; END FOR;\n"
	"  SELECT x;\n"
	"END;\n"
	"SELECT 2;";

static void test_mysql_begin_not_atomic_block_is_one_statement(void **state)
{
	static const struct want want[] = {
		{ 0, 1,
		  "BEGIN NOT ATOMIC\n"
		  "  DECLARE x INT DEFAULT 0;\n"
		  "  FOR i IN 1..3 DO SET x = x + i; END FOR;\n"
		  "  SELECT x;\n"
		  "END" },
		{ 104, 6, "SELECT 2" },
	};

	(void)state;
	expect_split(MY, my_not_atomic, want, N(want));
}

static const char my_heads[] =
	"CREATE OR REPLACE DEFINER = root@localhost SQL SECURITY INVOKER\n"
	"PROCEDURE a() BEGIN SELECT 1; END;\n"
	"CREATE DEFINER='u'@'10.0.%' EVENT e ON SCHEDULE EVERY 1 HOUR\n"
	"DO BEGIN DELETE FROM log; OPTIMIZE TABLE log; END;\n"
	"CREATE TABLE audit (event VARCHAR(9), `trigger` INT, procedure_name "
	"TEXT);\n"
	"CREATE ALGORITHM=MERGE DEFINER=CURRENT_USER VIEW v AS SELECT 1;\n"
	"ALTER EVENT e DO BEGIN SELECT 1; SELECT 2; END;\n"
	"SELECT 3;";

static void test_mysql_create_heads_decide_on_block_counting(void **state)
{
	static const struct want want[] = {
		{ 0, 1,
		  "CREATE OR REPLACE DEFINER = root@localhost SQL SECURITY "
		  "INVOKER\n"
		  "PROCEDURE a() BEGIN SELECT 1; END" },
		{ 99, 3,
		  "CREATE DEFINER='u'@'10.0.%' EVENT e ON SCHEDULE EVERY 1 "
		  "HOUR\n"
		  "DO BEGIN DELETE FROM log; OPTIMIZE TABLE log; END" },
		{ 211, 5,
		  "CREATE TABLE audit (event VARCHAR(9), `trigger` INT, "
		  "procedure_name TEXT)" },
		{ 286, 6,
		  "CREATE ALGORITHM=MERGE DEFINER=CURRENT_USER VIEW v AS "
		  "SELECT 1" },
		{ 350, 7, "ALTER EVENT e DO BEGIN SELECT 1; SELECT 2; END" },
		{ 398, 8, "SELECT 3" },
	};

	(void)state;
	expect_split(MY, my_heads, want, N(want));
}

/* ---- both ---- */

static const char crlf_pg[] =
	"-- header\r\n"
	"SELECT 'a\r\n"
	"b';\r\n"
	"\r\n"
	"CREATE TABLE t (\r\n"
	"  id int\r\n"
	");\r\n"
	"SELECT 3\r\n";
static const char crlf_my[] =
	"DELIMITER $$\r\n"
	"CREATE PROCEDURE p()\r\n"
	"BEGIN\r\n"
	"  SELECT 1;\r\n"
	"END $$\r\n"
	"DELIMITER ;\r\n"
	"SELECT 2;\r\n";

static void test_crlf_input_keeps_lines_and_trims_cr(void **state)
{
	(void)state;
	{
		static const struct want want[] = {
			{ 0, 1,
			  "-- header\r\n"
			  "SELECT 'a\r\n"
			  "b'" },
			{ 29, 5,
			  "CREATE TABLE t (\r\n"
			  "  id int\r\n"
			  ")" },
			{ 61, 8, "SELECT 3" },
		};

		expect_split(PG, crlf_pg, want, N(want));
	}
	{
		static const struct want want[] = {
			{ 14, 2,
			  "CREATE PROCEDURE p()\r\n"
			  "BEGIN\r\n"
			  "  SELECT 1;\r\n"
			  "END" },
			{ 77, 7, "SELECT 2" },
		};

		expect_split(MY, crlf_my, want, N(want));
	}
}

static const char bom[] =
	"\xEF\xBB\xBFSELECT 1;\n"
	"SELECT 2;";
static const char bom_delim[] =
	"\xEF\xBB\xBF" "DELIMITER //\n"
	"SELECT 1//\n";

static void test_byte_order_mark_is_skipped(void **state)
{
	(void)state;
	{
		static const struct want want[] = {
			{ 3, 1, "SELECT 1" },
			{ 13, 2, "SELECT 2" },
		};

		expect_split(PG, bom, want, N(want));
		expect_split(MY, bom, want, N(want));
	}
	{
		static const struct want want[] = {
			{ 16, 2, "SELECT 1" },
		};

		expect_split(MY, bom_delim, want, N(want));
	}
}

static const struct {
	enum mg_split_dialect d;
	const char *sql;
} empty_cases[] = {
	{ PG, "" },
	{ PG, "  \n\t\r\n" },
	{ PG, ";;\n;" },
	{ PG, "-- only a comment" },
	{ PG, "-- a;\n/* b; /* c */ */ ;\n  -- d\n" },
	{ PG, "\xEF\xBB\xBF" },
	{ MY, "" },
	{ MY, "# x;\n-- y;\n/* z; */" },
	{ MY, "-- x\nDELIMITER $$\n-- y\n$$\nDELIMITER ;\n" },
	{ MY, "\xEF\xBB\xBF;" },
};

static void test_blank_and_comment_only_input_gives_no_statements(
	void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(empty_cases); i++) {
		expect_split(empty_cases[i].d, empty_cases[i].sql, NULL, 0);
	}
}

static const char missing_final[] =
	"SELECT 1;\n"
	"  SELECT 2  \n"
	"\t";

static void test_missing_final_delimiter_is_fine(void **state)
{
	static const struct want want[] = {
		{ 0, 1, "SELECT 1" },
		{ 12, 2, "SELECT 2" },
	};

	(void)state;
	expect_split(PG, missing_final, want, N(want));
	expect_split(MY, missing_final, want, N(want));
}

static void test_input_need_not_be_nul_terminated(void **state)
{
	static const char sql[] = "SELECT 1; SELECT 2; SELECT 3";
	static const struct want want[] = {
		{ 0, 1, "SELECT 1" },
		{ 10, 1, "SELECT 2" },
		{ 20, 1, "SELE" },
	};

	(void)state;
	expect_split_n(PG, sql, 24, want, N(want));
	expect_split_n(MY, sql, 24, want, N(want));
}

static const char lines_pg[] =
	"SELECT 'a\n"
	"b', \"c\n"
	"d\", E'e\\\n"
	"f', $$g\n"
	"h$$, $t$i\n"
	"j$t$ -- k\n"
	"/* l\n"
	"/* m\n"
	"*/\n"
	"*/;\n"
	"SELECT 2 -- end";
static const char lines_my[] =
	"SELECT 'a\n"
	"b', \"c\\\n"
	"d\", `e\n"
	"f` # g\n"
	"/* h\n"
	"*/ /*!40000 i\n"
	"*/;\n"
	"DELIMITER ;;\n"
	"\n"
	"SELECT 2;;\n"
	"SELECT 3";

static void test_lines_count_newlines_inside_every_construct(void **state)
{
	(void)state;
	{
		static const struct want want[] = {
			{ 0, 1,
			  "SELECT 'a\n"
			  "b', \"c\n"
			  "d\", E'e\\\n"
			  "f', $$g\n"
			  "h$$, $t$i\n"
			  "j$t$ -- k\n"
			  "/* l\n"
			  "/* m\n"
			  "*/\n"
			  "*/" },
			{ 71, 11, "SELECT 2 -- end" },
		};

		expect_split(PG, lines_pg, want, N(want));
	}
	{
		static const struct want want[] = {
			{ 0, 1,
			  "SELECT 'a\n"
			  "b', \"c\\\n"
			  "d\", `e\n"
			  "f` # g\n"
			  "/* h\n"
			  "*/ /*!40000 i\n"
			  "*/" },
			{ 69, 10, "SELECT 2" },
			{ 80, 11, "SELECT 3" },
		};

		expect_split(MY, lines_my, want, N(want));
	}
}

static const struct bad_case {
	enum mg_split_dialect d;
	const char *sql;
	const char *msg;
	const char *detail;
} bad_cases[] = {
	{ PG, "SELECT 1;\n\nSELECT 'abc;\n", "unterminated quoted string",
	  "line 3" },
	{ PG, "SELECT E'\\'\n;", "unterminated quoted string", "line 1" },
	{ PG, "SELECT 1;\nSELECT \"a\"\"", "unterminated quoted identifier",
	  "line 2" },
	{ PG, "SELECT 1;\nCREATE FUNCTION f() AS $fn$\nBEGIN; $$ END;\n",
	  "unterminated dollar quote $fn$", "line 2" },
	{ PG, "\n\nSELECT $$ x", "unterminated dollar quote $$", "line 3" },
	{ PG, "SELECT 1 /* a\n/* b */\n", "unterminated block comment",
	  "line 1" },
	{ PG, "SELECT 'a\nb' /* c\nd", "unterminated block comment",
	  "line 2" },
	{ MY, "SELECT 1;\nSELECT 'it\\'s;\n", "unterminated quoted string",
	  "line 2" },
	{ MY, "SELECT \"a\\\"", "unterminated quoted string", "line 1" },
	{ MY, "\n\nSELECT `a``", "unterminated quoted identifier", "line 3" },
	{ MY, "SELECT 1; /* a\n", "unterminated block comment", "line 1" },
	{ MY, "SELECT 1;\r\n/*!40101 SET x = 1;\r\n",
	  "unterminated executable comment", "line 2" },
	{ MY, "DELIMITER $$\nSELECT '$$\n", "unterminated quoted string",
	  "line 2" },
};

static void test_unterminated_constructs_report_opening_line(void **state)
{
	struct mg_error err;
	char line[32];
	size_t i;

	(void)state;
	for (i = 0; i < N(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];

		memset(&err, 0, sizeof(err));
		assert_int_equal(split_error(c->d, c->sql, &err), MG_EINVALID);
		snprintf(line, sizeof(line), "line %u", err.line);
		if (strcmp(err.msg, c->msg) != 0 || strcmp(line, c->detail) != 0)
			print_message("case <%s>\n", c->sql);
		assert_int_equal(err.code, MG_EINVALID);
		assert_string_equal(err.msg, c->msg);
		assert_string_equal(line, c->detail);
	}
}

static void test_errors_without_an_error_struct(void **state)
{
	struct mg_stmts st;

	(void)state;
	assert_int_equal(mg_split(&st, "SELECT '", 8, PG, NULL), MG_EINVALID);
	assert_null(st.v);
	assert_int_equal(st.n, 0);
	assert_int_equal(mg_split(&st, "SELECT 1", 8, MY, NULL), 0);
	assert_int_equal(st.n, 1);
	mg_stmts_dispose(&st);
	assert_null(st.v);
	assert_int_equal(st.n, 0);
	mg_stmts_dispose(&st); /* twice is harmless */
	mg_stmts_dispose(NULL);
}

static void test_many_statements_grow_the_array(void **state)
{
	enum { COUNT = 1000 };
	char *sql = malloc(COUNT * 10 + 1);
	struct mg_stmts st;
	size_t i;

	(void)state;
	assert_non_null(sql);
	for (i = 0; i < COUNT; i++)
		memcpy(sql + i * 10, "SELECT 1;\n", 10);
	assert_int_equal(mg_split(&st, sql, COUNT * 10, PG, NULL), 0);
	assert_int_equal(st.n, COUNT);
	for (i = 0; i < COUNT; i++) {
		assert_int_equal(st.v[i].off, i * 10);
		assert_int_equal(st.v[i].line, i + 1);
		assert_int_equal(st.v[i].len, 8);
	}
	mg_stmts_dispose(&st);
	free(sql);
}

/*
 * Cutting a file anywhere must give statements inside the cut or a clean
 * MG_EINVALID, never a read past the end: each prefix is copied to a
 * buffer of its exact size, so AddressSanitizer sees any overrun.
 */
static void split_every_prefix(enum mg_split_dialect d, const char *sql)
{
	size_t total = strlen(sql), len, i;
	struct mg_error err;
	struct mg_stmts st;
	char *buf;
	int rc;

	for (len = 0; len <= total; len++) {
		buf = malloc(len ? len : 1);
		assert_non_null(buf);
		memcpy(buf, sql, len);
		memset(&err, 0, sizeof(err));
		rc = mg_split(&st, buf, len, d, &err);
		if (rc != 0) {
			assert_int_equal(rc, MG_EINVALID);
			assert_true(strncmp(err.msg, "unterminated ", 13) == 0);
			assert_true(err.line > 0);
			assert_null(st.v);
			assert_int_equal(st.n, 0);
		}
		for (i = 0; rc == 0 && i < st.n; i++) {
			assert_true(st.v[i].len > 0);
			assert_true(st.v[i].off + st.v[i].len <= len);
			assert_true(st.v[i].line >= 1);
			if (i > 0)
				assert_true(st.v[i].off >=
					    st.v[i - 1].off + st.v[i - 1].len);
		}
		if (rc == 0)
			mg_stmts_dispose(&st);
		free(buf);
	}
}

static void test_every_prefix_splits_safely(void **state)
{
	(void)state;
	split_every_prefix(PG, pg_plpgsql);
	split_every_prefix(PG, pg_atomic);
	split_every_prefix(PG, pg_params);
	split_every_prefix(PG, pg_nested);
	split_every_prefix(PG, lines_pg);
	split_every_prefix(PG, bom);
	split_every_prefix(PG, "SELECT E'\\\\\\'', $a$$a$, U&\"x\"\"\";");
	split_every_prefix(MY, my_dump);
	split_every_prefix(MY, my_delim);
	split_every_prefix(MY, my_delim_forms);
	split_every_prefix(MY, my_dump_trigger);
	split_every_prefix(MY, my_trigger);
	split_every_prefix(MY, my_proc);
	split_every_prefix(MY, my_if_forms);
	split_every_prefix(MY, lines_my);
	split_every_prefix(MY, crlf_my);
	split_every_prefix(MY, "SELECT 'a\\\\', \"b\\\"\", `c``` -- \n#\n--");
	/* each dialect over the other's files: odd input, same guarantees */
	split_every_prefix(MY, pg_plpgsql);
	split_every_prefix(MY, lines_pg);
	split_every_prefix(PG, my_dump);
	split_every_prefix(PG, my_proc);
}

/* mg_sql_line_at: the drivers' error lines from byte offsets */
static void test_line_at_counts_newlines_before_the_offset(void **state)
{
	static const struct {
		const char *sql;
		size_t off;
		unsigned want;
	} cases[] = {
		{ "", 0, 1 },
		{ "SELECT 1", 7, 1 },
		{ "a\nb", 1, 1 }, /* the '\n' itself is on line 1 */
		{ "a\nb", 2, 2 },
		{ "\n\n\nx", 3, 4 },
		{ "a\r\nb\r\nc", 6, 3 },
		{ "a\n\nb;\n", 4, 3 },
	};
	/* no NUL: only sql[0, off) is read */
	const char bytes[] = { 'a', '\n', 'b' };
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++)
		assert_int_equal(mg_sql_line_at(cases[i].sql, cases[i].off),
				 cases[i].want);
	assert_int_equal(mg_sql_line_at(bytes, sizeof(bytes)), 2);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pg_splits_on_semicolons_and_trims_blanks),
		cmocka_unit_test(
			test_semicolons_in_quotes_and_comments_do_not_split),
		cmocka_unit_test(test_pg_dollar_digit_is_a_parameter),
		cmocka_unit_test(test_pg_backslash_escapes_only_in_e_strings),
		cmocka_unit_test(test_pg_block_comments_nest),
		cmocka_unit_test(
			test_pg_dollar_quoted_body_is_one_statement),
		cmocka_unit_test(test_pg_begin_atomic_body_is_one_statement),
		cmocka_unit_test(
			test_pg_begin_outside_a_function_is_a_transaction),
		cmocka_unit_test(
			test_pg_semicolons_in_parentheses_do_not_split),
		cmocka_unit_test(test_mysql_comment_rules),
		cmocka_unit_test(
			test_mysql_dump_header_keeps_executable_comments),
		cmocka_unit_test(
			test_mysql_executable_comment_hides_semicolons),
		cmocka_unit_test(
			test_mysql_delimiter_lines_change_the_delimiter),
		cmocka_unit_test(test_mysql_delimiter_command_forms),
		cmocka_unit_test(
			test_mysql_delimiter_inside_a_statement_is_sql),
		cmocka_unit_test(
			test_mysql_dump_trigger_in_executable_comments),
		cmocka_unit_test(
			test_mysql_trigger_without_delimiter_is_one_statement),
		cmocka_unit_test(test_mysql_procedure_with_case_and_loops),
		cmocka_unit_test(
			test_mysql_begin_and_end_count_only_as_keywords),
		cmocka_unit_test(
			test_mysql_if_function_and_if_exists_open_no_block),
		cmocka_unit_test(
			test_mysql_single_statement_bodies_end_at_semicolon),
		cmocka_unit_test(
			test_mysql_begin_starts_a_transaction_in_plain_scripts),
		cmocka_unit_test(
			test_mysql_begin_not_atomic_block_is_one_statement),
		cmocka_unit_test(
			test_mysql_create_heads_decide_on_block_counting),
		cmocka_unit_test(test_crlf_input_keeps_lines_and_trims_cr),
		cmocka_unit_test(test_byte_order_mark_is_skipped),
		cmocka_unit_test(
			test_blank_and_comment_only_input_gives_no_statements),
		cmocka_unit_test(test_missing_final_delimiter_is_fine),
		cmocka_unit_test(test_input_need_not_be_nul_terminated),
		cmocka_unit_test(
			test_lines_count_newlines_inside_every_construct),
		cmocka_unit_test(
			test_unterminated_constructs_report_opening_line),
		cmocka_unit_test(test_errors_without_an_error_struct),
		cmocka_unit_test(test_many_statements_grow_the_array),
		cmocka_unit_test(test_every_prefix_splits_safely),
		cmocka_unit_test(
			test_line_at_counts_newlines_before_the_offset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
