#!/usr/bin/env bash
# A fleet against a shell loop, measured in the same run on the same server.
#
#   bash scripts/with-servers.sh bash bench/fleet.sh   (or: bash bench/run.sh)
#
# 200 tenant databases on the PostgreSQL that with-servers.sh starts, and 20
# migrations (a small table, an index, a comment each). The baseline is what
# teams run today: a sequential shell loop of `migrate -d URL up`, one
# process per tenant, each reading the files again. Against it, one
# `migrate up --targets FILE -j 4` on 200 other, identical databases: the
# files are read once, targets are checked before any runs, and four run at
# once. Goal: the loop takes at least 2x as long (issue 12), on 2 cores.
# FLEET_TENANTS and FLEET_MIGRATIONS change the sizes. Prints the ratio;
# exits 0 whatever it is (non-zero only if a run fails).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

: "${MG_TEST_PG_DSN:?run under scripts/with-servers.sh}"
BIN=${MG_BIN:-build/migrate}
[ -x "$BIN" ] || { cmake -S . -B build -DMG_TESTS=OFF >/dev/null &&
	cmake --build build -j2 >/dev/null; }
TENANTS=${FLEET_TENANTS:-200}
MIGRATIONS=${FLEET_MIGRATIONS:-20}
JOBS=4

work=$(mktemp -d)
base=${MG_TEST_PG_DSN%/*}
prefix="mg_fleet_$$"

cleanup() {
	local i
	for ((i = 1; i <= TENANTS; i++)); do
		echo "DROP DATABASE IF EXISTS ${prefix}_loop_$i;"
		echo "DROP DATABASE IF EXISTS ${prefix}_fleet_$i;"
	done | psql -X -q "$MG_TEST_PG_DSN" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/m"
for ((i = 1; i <= MIGRATIONS; i++)); do
	v=$(printf '%04d' "$i")
	cat >"$work/m/${v}_t.up.sql" <<SQL
CREATE TABLE t_$i (id bigint PRIMARY KEY, name text NOT NULL);
CREATE INDEX t_${i}_name ON t_$i (name);
COMMENT ON TABLE t_$i IS 'bench $i';
SQL
	echo "DROP TABLE t_$i;" >"$work/m/${v}_t.down.sql"
done

# Both sets of databases in one session: CREATE DATABASE runs alone in its
# transaction, which psql's autocommit gives each line.
for ((i = 1; i <= TENANTS; i++)); do
	echo "CREATE DATABASE ${prefix}_loop_$i;"
	echo "CREATE DATABASE ${prefix}_fleet_$i;"
	echo "$base/${prefix}_loop_$i" >>"$work/loop.txt"
	echo "$base/${prefix}_fleet_$i" >>"$work/targets"
done | psql -X -q -v ON_ERROR_STOP=1 "$MG_TEST_PG_DSN" >/dev/null

now() { date +%s.%N; }

t0=$(now)
while read -r url; do
	"$BIN" -q -d "$url" -m "$work/m" up
done <"$work/loop.txt"
loop=$(echo "$(now) - $t0" | bc)

t0=$(now)
"$BIN" -q -m "$work/m" up --targets "$work/targets" -j "$JOBS" 2>"$work/fleet.err" ||
	{ cat "$work/fleet.err" >&2; exit 1; }
fleet=$(echo "$(now) - $t0" | bc)

# both did the whole work: every tenant has every migration
last=$(tail -n 1 "$work/targets")
n=$(psql -X -At "$last" -c "SELECT count(*) FROM migrate_ledger WHERE status = 'ok'")
[ "$n" = "$MIGRATIONS" ] || { echo "fleet: $last has $n of $MIGRATIONS" >&2; exit 1; }

printf 'fleet    %d tenants x %d migrations: shell loop %6.2f s   --targets -j %d %6.2f s   ratio %.2fx (goal >= 2x)\n' \
	"$TENANTS" "$MIGRATIONS" "$loop" "$JOBS" "$fleet" "$(echo "$loop / $fleet" | bc -l)"
