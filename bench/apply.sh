#!/usr/bin/env bash
# Apply speed against psql, measured in the same run on the same server.
#
#   bash scripts/with-servers.sh bash bench/apply.sh   (or: bash bench/run.sh)
#
# Two sets, each applied to a fresh PostgreSQL database:
#   trivial: 2000 migrations of one SELECT each
#   ddl:      500 migrations of a small table, an index and a comment
# The baseline is psql running the same files, one transaction each, in one
# session (BEGIN; \i file; COMMIT). migrate also writes a ledger row per
# file, so "close to psql plus one small insert per migration" is the goal
# for the trivial set, and at most 1.2x psql for the DDL set. Each number is
# the median of three runs. Prints ratios; exits 0 whatever they are.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

: "${MG_TEST_PG_DSN:?run under scripts/with-servers.sh}"
BIN=${MG_BIN:-build/migrate}
[ -x "$BIN" ] || { cmake -S . -B build -DMG_TESTS=OFF >/dev/null &&
	cmake --build build -j2 >/dev/null; }

work=$(mktemp -d)

gen() { # gen DIR KIND COUNT
	mkdir -p "$1"
	local i
	for ((i = 1; i <= $3; i++)); do
		local v
		v=$(printf '%05d' "$i")
		if [ "$2" = trivial ]; then
			echo "SELECT $i;" >"$1/${v}_m.up.sql"
			echo "SELECT $i;" >"$1/${v}_m.down.sql"
		else
			cat >"$1/${v}_t.up.sql" <<SQL
CREATE TABLE t_$i (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz DEFAULT now());
CREATE INDEX t_${i}_name ON t_$i (name);
COMMENT ON TABLE t_$i IS 'bench $i';
SQL
			echo "DROP TABLE t_$i;" >"$1/${v}_t.down.sql"
		fi
	done
	# the psql baseline: the same files, a transaction each, one session
	for f in "$1"/*.up.sql; do
		printf 'BEGIN;\n\\i %s\nCOMMIT;\n' "$f"
	done >"$1.psql"
}

base=${MG_TEST_PG_DSN%/*}
dbs=()
fresh_db() { # sets DSN to a new, empty database
	local db="mg_bench_$$_${#dbs[@]}"
	dbs+=("$db")
	psql -X -q "$MG_TEST_PG_DSN" -c "CREATE DATABASE $db" >/dev/null
	DSN="$base/$db"
}
cleanup() {
	local db
	for db in "${dbs[@]}"; do
		psql -X -q "$MG_TEST_PG_DSN" -c "DROP DATABASE IF EXISTS $db" \
			>/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }

median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }

# Each sets T to the seconds a run took.
time_psql() { # time_psql SET
	local t0
	fresh_db
	t0=$(now)
	psql -X -q -v ON_ERROR_STOP=1 "$DSN" -f "$work/$1.psql" >/dev/null
	T=$(echo "$(now) - $t0" | bc)
}

time_migrate() { # time_migrate SET
	local t0
	fresh_db
	t0=$(now)
	"$BIN" -d "$DSN" -m "$work/$1" up 2>/dev/null
	T=$(echo "$(now) - $t0" | bc)
}

command -v bc >/dev/null || { echo "bench needs bc (apt-get install bc)" >&2; exit 1; }
gen "$work/trivial" trivial 2000
gen "$work/ddl" ddl 500

for set in trivial ddl; do
	p=() m=()
	for _ in 1 2 3; do
		time_psql $set
		p+=("$T")
		time_migrate $set
		m+=("$T")
	done
	pm=$(median3 "${p[@]}")
	mm=$(median3 "${m[@]}")
	printf '%-8s psql %6.3f s   migrate %6.3f s   ratio %.2fx\n' \
		"$set" "$pm" "$mm" "$(echo "$mm / $pm" | bc -l)"
done
