#!/usr/bin/env bash
# with-cluster.sh CMD [ARGS...]
#
# Starts, on loopback under a temp dir, a 3-node MariaDB Galera cluster and
# a pgbouncer in transaction pooling mode in front of the PostgreSQL that
# scripts/with-servers.sh started (run this inside it), runs CMD with
# MG_TEST_GALERA_* and MG_TEST_PGBOUNCER_* variables pointing at them, stops
# everything it started, removes the temp dir and exits with CMD's status.
# Issue 12: the run lock must exclude on these topologies, and only real
# ones show whether it does.
#
#   bash scripts/with-servers.sh bash scripts/with-cluster.sh ctest -L cluster
#
# Needs from with-servers.sh: MG_TEST_PG_PORT, MG_TEST_PG_PASSWORD.
# Exported to CMD:
#   MG_TEST_GALERA_DSN1, _DSN2, _DSN3: mysql:// URLs of the three nodes
#   MG_TEST_GALERA_PORT1.._3, MG_TEST_GALERA_SOCKET1.._3
#   MG_TEST_PGBOUNCER_DSN: postgres:// URL through pgbouncer, transaction
#     mode, database "postgres" (also any other database name: pgbouncer's
#     "*" entry forwards it to the same server)
#   MG_TEST_PGBOUNCER_PORT
#   MG_TEST_REQUIRE_CLUSTER=1 (a cluster test that cannot connect fails)
#
# It takes about 17 s on an idle 2-core machine, up to a minute on a busy
# one (node 1 bootstraps, nodes 2 and 3 join by an rsync state transfer,
# one at a time as Galera wants).
set -euo pipefail

# alive, wait_gone, tree, kill_tree, port_busy, reserve, elapsed
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PSQL=/usr/lib/postgresql/15/bin/psql
MG_PW=${MG_TEST_PG_PASSWORD:-mg_test_pw_9f3}
GALERA_LIB=/usr/lib/galera/libgalera_smm.so
# First ports tried for each node's four ports (client, group
# communication, incremental and full state transfer): BASE + 10*n + k,
# below the kernel's ephemeral range (32768-60999), where an outgoing
# connection can take a port between our check and the bind (seen: IST).
PORT_BASE=24400
PORT_TRIES=40
START_TIMEOUT=90
STOP_TIMEOUT=30

log() { printf 'with-cluster: %s\n' "$*" >&2; }

if (($# == 0)); then
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
fi
if ((EUID != 0)); then
	die "must run as root: the servers run as the mysql and postgres users"
fi
if [[ -z ${MG_TEST_PG_PORT:-} ]]; then
	die "MG_TEST_PG_PORT is not set: run inside scripts/with-servers.sh"
fi
for tool in mariadb-install-db mariadbd mariadb-admin mariadb rsync \
	pgbouncer "$PSQL"; do
	command -v "$tool" >/dev/null ||
		die "'$tool' not found: run 'bash scripts/deps.sh test'"
done
[[ -r $GALERA_LIB ]] || die "$GALERA_LIB not found: install galera-4"

root=
child=
bouncer_pid=
declare -a node_pid=() node_port=()

# shellcheck disable=SC2317 # called from the trap
# stop PID: TERM, then KILL after STOP_TIMEOUT, with everything it started
# (an rsync of a state transfer, say).
stop()
{
	local pid=$1 p
	local -a pids
	alive "$pid" || return 0
	mapfile -t pids < <(tree "$pid")
	kill -TERM "$pid" 2>/dev/null
	if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
		log "process $pid did not stop; killing it"
		kill -KILL "${pids[@]}" 2>/dev/null
		wait_gone "$pid" 5
	fi
	for p in "${pids[@]}"; do
		alive "$p" && kill -KILL "$p" 2>/dev/null
	done
	wait "$pid" 2>/dev/null
	return 0
}

# shellcheck disable=SC2317 # called from the trap
# Runs on every exit path: normal, CMD failing, a failed start (die or
# set -e), INT or TERM.
cleanup()
{
	local rc=$? n
	set +e
	trap '' INT TERM
	[[ -n $child ]] && kill_tree "$child"
	[[ -n $bouncer_pid ]] && stop "$bouncer_pid"
	# the nodes in reverse order: the last one to leave is the first
	# one, so no node waits for a quorum that is gone
	for ((n = ${#node_pid[@]} - 1; n >= 0; n--)); do
		stop "${node_pid[n]}"
	done
	if [[ -n $root ]]; then
		rm -rf "$root"
	fi
	if ((rc != 0)); then
		log "cluster stopped, exit $rc"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

root=$(mktemp -d /tmp/mg-cluster.XXXXXX)
chmod 0711 "$root"
t0=$EPOCHREALTIME

# A base of 30 ports that this run reserves (the lock "cluster-BASE", beside
# with-servers.sh's port locks) and finds free: the nodes use
# BASE + 10*n + 0..3, pgbouncer BASE + 29.
base=
for ((i = 0; i < PORT_TRIES; i++)); do
	[[ -n $base ]] && break
	b=$((PORT_BASE + i * 30))
	reserve "cluster-$b" || continue
	free=1
	for p in $(seq "$b" $((b + 29))); do
		if port_busy "$p"; then
			free=0
			break
		fi
	done
	((free)) && base=$b
done
[[ -n $base ]] || die "no free ports for the cluster from $PORT_BASE"

gcomm=gcomm://
for n in 0 1 2; do
	gcomm+="127.0.0.1:$((base + n * 10 + 1)),"
done
gcomm=${gcomm%,}

# start_node N BOOTSTRAP: starts node N (0-based); BOOTSTRAP 1 makes it
# form a new cluster, else it joins the others.
start_node()
{
	local n=$1 boot=$2 dir=$root/node$1 logf t pid
	local cport=$((base + n * 10)) gport=$((base + n * 10 + 1))
	local iport=$((base + n * 10 + 2)) sport=$((base + n * 10 + 3))
	local -a extra=()
	install -d -o mysql -g mysql -m 0700 "$dir"
	logf=$dir/mariadbd.log
	if ((boot)); then
		mariadb-install-db --no-defaults --user=mysql \
			--datadir="$dir/data" \
			--auth-root-authentication-method=socket \
			--skip-test-db >"$dir/install.log" 2>&1 ||
			die "mariadb-install-db failed" "$dir/install.log"
		extra+=(--wsrep-new-cluster)
	else
		install -d -o mysql -g mysql -m 0700 "$dir/data"
	fi
	# Galera wants ROW binlogs, InnoDB and interleaved auto-increment
	# locks; the rest is what with-servers.sh uses. The state transfer
	# runs rsync as the mysql user between loopback ports.
	mariadbd --no-defaults --user=mysql --datadir="$dir/data" \
		--socket="$dir/mariadbd.sock" --port="$cport" \
		--bind-address=127.0.0.1 --pid-file="$dir/mariadbd.pid" \
		--log-error="$logf" --skip-name-resolve \
		--innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
		--innodb-buffer-pool-size=64M \
		--binlog-format=ROW --default-storage-engine=InnoDB \
		--innodb-autoinc-lock-mode=2 \
		--wsrep-on=ON --wsrep-provider="$GALERA_LIB" \
		--wsrep-cluster-name=mg-test \
		--wsrep-cluster-address="$gcomm" \
		--wsrep-node-name="node$n" \
		--wsrep-node-address="127.0.0.1:$gport" \
		--wsrep-provider-options="gmcast.listen_addr=tcp://127.0.0.1:$gport;ist.recv_addr=127.0.0.1:$iport;gcache.size=32M" \
		--wsrep-sst-method=rsync \
		--wsrep-sst-receive-address="127.0.0.1:$sport" \
		"${extra[@]}" </dev/null >>"$dir/mariadbd.out" 2>&1 &
	pid=$!
	node_pid[n]=$pid
	node_port[n]=$cport
	t=$SECONDS
	# ready = accepts clients and has joined the primary component
	while :; do
		if ! alive "$pid"; then
			die "node $n exited during startup" "$logf"
		fi
		if ((SECONDS - t > START_TIMEOUT)); then
			die "node $n not ready after ${START_TIMEOUT}s" "$logf"
		fi
		if [[ $(mariadb --no-defaults --socket="$dir/mariadbd.sock" \
			-u root --connect-timeout=1 -N -B -e \
			"SHOW STATUS LIKE 'wsrep_local_state_comment'" \
			2>/dev/null) == *Synced* ]]; then
			break
		fi
		sleep 0.2
	done
}

log "starting a 3-node galera cluster in $root (ports from $base)"
start_node 0 1
mariadb --no-defaults --socket="$root/node0/mariadbd.sock" -u root -e "
	CREATE USER 'mg_test'@'127.0.0.1' IDENTIFIED BY '$MG_PW';
	GRANT ALL PRIVILEGES ON *.* TO 'mg_test'@'127.0.0.1' WITH GRANT OPTION;
	CREATE USER 'mg_test'@'localhost' IDENTIFIED BY '$MG_PW';
	GRANT ALL PRIVILEGES ON *.* TO 'mg_test'@'localhost' WITH GRANT OPTION;" ||
	die "could not create user mg_test" "$root/node0/mariadbd.log"
start_node 1 0
start_node 2 0
size=$(MYSQL_PWD=$MG_PW mariadb --no-defaults --protocol=TCP -h 127.0.0.1 \
	-P "${node_port[2]}" -u mg_test -N -B -e \
	"SHOW STATUS LIKE 'wsrep_cluster_size'" | cut -f2)
[[ $size == 3 ]] || die "the cluster has ${size:-no} nodes, not 3"
log "galera ready (3 nodes) after $(elapsed "$t0")"

# pgbouncer in transaction mode in front of with-servers.sh's PostgreSQL.
# It runs as postgres (it refuses root); auth_type plain against a file of
# our own, and the server login uses the same password.
t1=$EPOCHREALTIME
install -d -o postgres -g postgres -m 0700 "$root/pgbouncer"
printf '"mg_test" "%s"\n' "$MG_PW" >"$root/pgbouncer/users.txt"
bport=$((base + 29))
cat >"$root/pgbouncer/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$MG_TEST_PG_PORT
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = plain
auth_file = $root/pgbouncer/users.txt
pool_mode = transaction
default_pool_size = 4
max_client_conn = 200
logfile = $root/pgbouncer/pgbouncer.log
pidfile = $root/pgbouncer/pgbouncer.pid
ignore_startup_parameters = extra_float_digits,options
EOF
chown -R postgres:postgres "$root/pgbouncer"
(cd / && exec runuser -u postgres -- pgbouncer "$root/pgbouncer/pgbouncer.ini") \
	</dev/null >>"$root/pgbouncer/pgbouncer.out" 2>&1 &
bouncer_pid=$!
for ((i = 0; i < START_TIMEOUT * 10; i++)); do
	alive "$bouncer_pid" || die "pgbouncer exited" "$root/pgbouncer/pgbouncer.log"
	PGPASSWORD=$MG_PW "$PSQL" -X -q -At -h 127.0.0.1 -p "$bport" -U mg_test \
		-d postgres -c 'SELECT 1' >/dev/null 2>&1 && break
	sleep 0.1
done
PGPASSWORD=$MG_PW "$PSQL" -X -q -At -h 127.0.0.1 -p "$bport" -U mg_test \
	-d postgres -c 'SELECT 1' >/dev/null 2>&1 ||
	die "cannot connect through pgbouncer" "$root/pgbouncer/pgbouncer.log"
log "pgbouncer ready on 127.0.0.1:$bport after $(elapsed "$t1")"

export MG_TEST_REQUIRE_CLUSTER=1
for n in 0 1 2; do
	export "MG_TEST_GALERA_PORT$((n + 1))=${node_port[n]}"
	export "MG_TEST_GALERA_SOCKET$((n + 1))=$root/node$n/mariadbd.sock"
	export "MG_TEST_GALERA_DSN$((n + 1))=mysql://mg_test:$MG_PW@127.0.0.1:${node_port[n]}/mysql"
done
export MG_TEST_PGBOUNCER_PORT=$bport
export MG_TEST_PGBOUNCER_DSN="postgres://mg_test:$MG_PW@127.0.0.1:$bport/postgres"

log "running: $*"
"$@" <&0 &
child=$!
rc=0
wait "$child" || rc=$?
child=
exit "$rc"
