#!/usr/bin/env bash
# `status` over a long history on PostgreSQL, against dbmate (issue 7).
#
#   bash scripts/with-servers.sh bash bench/status.sh   (or bench/run.sh)
#
# COUNT (default 10,000) applied migrations: migrate reads 2 files each (up
# and down) and checksums them all; its ledger gets one row per version
# from `migrate baseline`. The baseline is `dbmate status` over the same
# count, one file each (-- migrate:up / -- migrate:down) and a
# schema_migrations table listing every version: it reads every file but
# checksums nothing. dbmate comes from $DBMATE, PATH, or the npm registry
# (package "dbmate", which ships the binary) when npm is there. Without it
# the baseline is what dbmate does, spelled in the shell: cat every file,
# then one psql query of the versions (say so when comparing). Median of
# RUNS (default 5) runs each, alternating. Target: ratio at most 1.0.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

: "${MG_TEST_PG_DSN:?run under scripts/with-servers.sh}"
COUNT=${COUNT:-10000}
RUNS=${RUNS:-5}
BIN=${MG_BIN:-build/migrate}
[ -x "$BIN" ] || { cmake -S . -B build -DMG_TESTS=OFF >/dev/null &&
	cmake --build build -j2 >/dev/null; }
command -v bc >/dev/null || { echo "bench needs bc" >&2; exit 1; }

work=$(mktemp -d)
base=${MG_TEST_PG_DSN%/*}
db="mg_status_$$"
cleanup() {
	psql -X -q "$MG_TEST_PG_DSN" -c "DROP DATABASE IF EXISTS $db" \
		>/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/m" "$work/d"
for ((i = 1; i <= COUNT; i++)); do
	v=$(printf '%05d' "$i")
	echo "CREATE TABLE t_$i (id bigint PRIMARY KEY, name text);" \
		>"$work/m/${v}_t.up.sql"
	echo "DROP TABLE t_$i;" >"$work/m/${v}_t.down.sql"
	printf -- '-- migrate:up\nCREATE TABLE t_%d (id bigint PRIMARY KEY, name text);\n\n-- migrate:down\nDROP TABLE t_%d;\n' \
		"$i" "$i" >"$work/d/${v}_t.sql"
done
psql -X -q "$MG_TEST_PG_DSN" -c "CREATE DATABASE $db"
"$BIN" -d "$base/$db" -m "$work/m" baseline "$COUNT" --reason bench \
	>/dev/null 2>&1
psql -X -q "$base/$db" -c "CREATE TABLE schema_migrations (version
	varchar(128) PRIMARY KEY); INSERT INTO schema_migrations SELECT
	lpad(i::text, 5, '0') FROM generate_series(1, $COUNT) AS i"

dbmate=${DBMATE:-$(command -v dbmate || true)}
if [ -z "$dbmate" ] && command -v npm >/dev/null &&
	npm install --prefix "$work/npm" --no-audit --no-fund dbmate \
		>/dev/null 2>&1; then
	dbmate=$work/npm/node_modules/.bin/dbmate
fi

now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }

b=() m=()
for ((k = 0; k < RUNS; k++)); do
	t0=$(now)
	if [ -n "$dbmate" ]; then
		"$dbmate" --url "$base/$db?sslmode=disable" \
			--migrations-dir "$work/d" status >/dev/null
	else
		cat "$work"/d/*.sql >/dev/null
		psql -X -q -At "$base/$db" \
			-c "SELECT version FROM schema_migrations" >/dev/null
	fi
	b+=("$(echo "$(now) - $t0" | bc)")
	t0=$(now)
	"$BIN" -d "$base/$db" -m "$work/m" status >/dev/null 2>&1
	m+=("$(echo "$(now) - $t0" | bc)")
done
bm=$(median "${b[@]}")
mm=$(median "${m[@]}")
name=dbmate
[ -n "$dbmate" ] || name="cat+psql"
printf 'status %d applied  %s %6.3f s   migrate %6.3f s   ratio %.2fx\n' \
	"$COUNT" "$name" "$bm" "$mm" "$(echo "$mm / $bm" | bc -l)"
