#!/usr/bin/env bash
# What a backup costs (issue 15), as ratios against a baseline measured in
# the same run, on a 5-column table of ROWS rows (default 1,000,000), on
# each database that is reachable:
#
#   bash scripts/with-servers.sh bash bench/backup.sh
#
#   backup  = `migrate up` of a file whose only work is `-- backup: big`
#             (copy, count, fingerprint, ledger row), against a plain
#             CREATE TABLE ... AS SELECT of the same rows by the client;
#   fp1     = the checks' text fingerprint of the table alone (`up
#             --dry-run` of a `data` check over its 5 columns), which
#             backups use where fp2 is not available (MySQL 8, MariaDB
#             before 10.8, PostgreSQL types without a hash); what the
#             backup costs beyond the copy is "backup - CTAS": its count,
#             its fingerprint (fp2 on all three here) and its ledger row;
#   restore = `migrate restore 1` after every row was deleted (key match,
#             insert, proof), against a plain INSERT ... SELECT;
#   space   = the backup table's size on disk.
# One run each (the timings are seconds long). Use a Release build
# (MG_BIN=build-rel/migrate): SQLite's fingerprint is an aggregate inside
# migrate, which a sanitizer build slows down many times.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ROWS=${ROWS:-1000000}
BIN=${MG_BIN:-build/migrate}
[ -x "$BIN" ] || { cmake -S . -B build -DMG_TESTS=OFF >/dev/null &&
	cmake --build build -j2 >/dev/null; }
command -v bc >/dev/null || { echo "bench needs bc" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/backup" "$work/fp"
printf -- '-- backup: big\nSELECT 1;\n' >"$work/backup/1_bench.up.sql"
printf -- '-- restore: big\n' >"$work/backup/1_bench.down.sql"
printf -- '-- check: data big (id, name, qty, note, score) unchanged\nSELECT 1;\n' \
	>"$work/fp/1_bench.up.sql"
echo "SELECT 1;" >"$work/fp/1_bench.down.sql"

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }

# bench NAME URL SQLCLIENT... : the client runs one statement from stdin
bench() {
	local name=$1 url=$2 t0 ctas ins bk fp rs
	shift 2
	t0=$(now); echo "CREATE TABLE ctas AS SELECT * FROM big;" | "$@"
	ctas=$(since "$t0")
	t0=$(now)
	"$BIN" -d "$url" -m "$work/fp" --ledger-table bench_fp up --dry-run \
		>/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
	fp=$(since "$t0")
	t0=$(now)
	"$BIN" -d "$url" -m "$work/backup" --ledger-table bench_ledger up \
		>/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
	bk=$(since "$t0")
	echo "DELETE FROM big;" | "$@"
	t0=$(now); echo "INSERT INTO big SELECT * FROM ctas;" | "$@"
	ins=$(since "$t0")
	echo "DELETE FROM big;" | "$@"
	t0=$(now)
	"$BIN" -d "$url" -m "$work/backup" --ledger-table bench_ledger \
		restore 1 >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
	rs=$(since "$t0")
	printf '%-8s %d rows: CTAS %.2f s, backup %.2f s (%.2fx; beyond the copy %.2f s; fp1 alone %.2f s); INSERT..SELECT %.2f s, restore %.2f s (%.2fx)\n' \
		"$name" "$ROWS" "$ctas" "$bk" "$(echo "$bk / $ctas" | bc -l)" \
		"$(echo "$bk - $ctas" | bc -l)" "$fp" "$ins" "$rs" \
		"$(echo "$rs / $ins" | bc -l)"
}

ENGINES=${ENGINES:-sqlite postgres mariadb} # which to measure
if [[ $ENGINES == *sqlite* ]]; then
sqlite3 "$work/big.db" <<SQL
CREATE TABLE big (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, note TEXT,
                  score REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS)
INSERT INTO big SELECT i, 'name ' || i, i % 1000, 'note ' || (i % 97),
                       i * 0.5 FROM n;
SQL
before=$(stat -c %s "$work/big.db")
bench sqlite "sqlite:$work/big.db" sqlite3 "$work/big.db"
echo "sqlite   database file: $before bytes before, $(stat -c %s "$work/big.db") after CTAS + backup"
fi

if [ -n "${MG_TEST_PG_DSN:-}" ] && [[ $ENGINES == *postgres* ]]; then
	db="mg_bk_$$"
	psql -X -q "$MG_TEST_PG_DSN" -c "CREATE DATABASE $db"
	dsn="${MG_TEST_PG_DSN%/*}/$db"
	psql -X -q "$dsn" <<SQL
CREATE TABLE big (id bigint PRIMARY KEY, name text, qty int, note text,
                  score float8);
INSERT INTO big SELECT i, 'name ' || i, i % 1000, 'note ' || (i % 97), i * 0.5
FROM generate_series(1, $ROWS) AS i;
VACUUM ANALYZE big;
SQL
	bench postgres "$dsn" psql -X -q "$dsn"
	echo "postgres backup table: $(psql -X -At "$dsn" -c "SELECT pg_size_pretty(pg_total_relation_size('bench_ledger_bk_v1_big'))")"
	psql -X -q "$MG_TEST_PG_DSN" -c "DROP DATABASE $db"
fi

if [ -n "${MG_TEST_MYSQL_DSN:-}" ] && [[ $ENGINES == *mariadb* ]]; then
	my=(mariadb --no-defaults -h 127.0.0.1 -P "$MG_TEST_MYSQL_PORT"
		-u mg_test "-p$MG_TEST_MYSQL_PASSWORD")
	db="mg_bk_$$"
	"${my[@]}" -e "CREATE DATABASE $db"
	"${my[@]}" "$db" <<SQL
CREATE TABLE big (id BIGINT PRIMARY KEY, name VARCHAR(40), qty INT,
                  note VARCHAR(40), score DOUBLE);
INSERT INTO big SELECT seq, CONCAT('name ', seq), seq % 1000,
                       CONCAT('note ', seq % 97), seq * 0.5
FROM seq_1_to_$ROWS;
SQL
	bench mariadb "${MG_TEST_MYSQL_DSN%/*}/$db" "${my[@]}" "$db"
	"${my[@]}" "$db" -e "ANALYZE TABLE bench_ledger_bk_v1_big" >/dev/null
	echo "mariadb  backup table: $("${my[@]}" -N "$db" -e "SELECT CONCAT(ROUND((DATA_LENGTH + INDEX_LENGTH) / 1048576), ' MB') FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$db' AND TABLE_NAME = 'bench_ledger_bk_v1_big'")"
	"${my[@]}" -e "DROP DATABASE $db"
fi
