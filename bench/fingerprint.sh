#!/usr/bin/env bash
# The data fingerprint against a plain count(*), on a table of ROWS rows
# (default 3,000,000), on each database that is reachable.
#
#   bash scripts/with-servers.sh bash bench/fingerprint.sh   (or bench/run.sh)
#
# Both go through `migrate up --dry-run`, which evaluates a pending
# migration's "before" values live: one file says `-- check: rows big
# unchanged` (count(*)), the other `-- check: data big (id, email, score)
# unchanged` (the fingerprint). The ratio is the fingerprint's cost in
# scans of the table. Median of three runs each.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ROWS=${ROWS:-3000000}
BIN=${MG_BIN:-build/migrate}
[ -x "$BIN" ] || { cmake -S . -B build -DMG_TESTS=OFF >/dev/null &&
	cmake --build build -j2 >/dev/null; }
command -v bc >/dev/null || { echo "bench needs bc" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for kind in count fingerprint; do
	mkdir -p "$work/$kind"
	check="rows big unchanged"
	[ $kind = fingerprint ] && check="data big (id, email, score) unchanged"
	printf -- '-- check: %s\nSELECT 1;\n' "$check" \
		>"$work/$kind/1_bench.up.sql"
	echo "SELECT 1;" >"$work/$kind/1_bench.down.sql"
done

now() { date +%s.%N; }
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }

measure() { # measure NAME URL
	local kind t0 r=() c=() f=()
	for _ in 1 2 3; do
		for kind in count fingerprint; do
			t0=$(now)
			"$BIN" -d "$2" -m "$work/$kind" --ledger-table bench_ledger \
				up --dry-run 2>/dev/null
			r=("$(echo "$(now) - $t0" | bc)")
			if [ $kind = count ]; then c+=("${r[0]}"); else f+=("${r[0]}"); fi
		done
	done
	local cm fm
	cm=$(median3 "${c[@]}")
	fm=$(median3 "${f[@]}")
	printf '%-9s %d rows  count(*) %6.3f s   fingerprint %6.3f s   ratio %.2fx\n' \
		"$1" "$ROWS" "$cm" "$fm" "$(echo "$fm / $cm" | bc -l)"
}

# SQLite: a file in the work directory
sqlite3 "$work/big.db" <<SQL
CREATE TABLE big (id INTEGER PRIMARY KEY, email TEXT, score REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS)
INSERT INTO big SELECT i, 'user' || i || '@example.com', i * 0.5 FROM n;
SQL
measure sqlite "sqlite:$work/big.db"

if [ -n "${MG_TEST_PG_DSN:-}" ]; then
	db="mg_fp_$$"
	psql -X -q "$MG_TEST_PG_DSN" -c "CREATE DATABASE $db"
	dsn="${MG_TEST_PG_DSN%/*}/$db"
	psql -X -q "$dsn" <<SQL
CREATE TABLE big (id bigint PRIMARY KEY, email text, score float8);
INSERT INTO big SELECT i, 'user' || i || '@example.com', i * 0.5
FROM generate_series(1, $ROWS) AS i;
VACUUM ANALYZE big;
SQL
	measure postgres "$dsn"
	psql -X -q "$MG_TEST_PG_DSN" -c "DROP DATABASE $db"
fi

# MariaDB: seq_1_to_N comes from its Sequence engine
if [ -n "${MG_TEST_MYSQL_DSN:-}" ]; then
	my=(mariadb --no-defaults -h 127.0.0.1 -P "$MG_TEST_MYSQL_PORT"
		-u mg_test "-p$MG_TEST_MYSQL_PASSWORD")
	db="mg_fp_$$"
	"${my[@]}" -e "CREATE DATABASE $db"
	"${my[@]}" "$db" <<SQL
CREATE TABLE big (id BIGINT PRIMARY KEY, email VARCHAR(64), score DOUBLE);
INSERT INTO big SELECT seq, CONCAT('user', seq, '@example.com'), seq * 0.5
FROM seq_1_to_$ROWS;
SQL
	measure mysql "${MG_TEST_MYSQL_DSN%/*}/$db"
	"${my[@]}" -e "DROP DATABASE $db"
fi
