# shellcheck shell=bash
# Helpers shared by the scripts that start servers for the tests
# (with-servers.sh, with-cluster.sh, pg-standby.sh): processes, ports and
# timing. Sourced, never run:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Only functions and one constant: nothing runs on sourcing, and each script
# keeps its own traps, its own log prefix (its log function, which die
# calls) and its own cleanup.

# Where the port lock files live, shared by every run of every script on the
# machine (see reserve).
PORT_LOCKS=/tmp/mg-ports

# die MESSAGE [LOGFILE]: fail with the tail of the server's log, which says
# why far better than our message can. The caller's EXIT trap cleans up.
die()
{
	log "error: $1"
	if [[ -n ${2:-} && -s $2 ]]; then
		log "last lines of $2:"
		tail -n 40 "$2" >&2
	fi
	exit 1
}

# True while PID runs. kill -0 is not enough: a child that has exited but
# not been reaped yet (a zombie) still answers it.
alive()
{
	[[ -r /proc/$1/status ]] &&
		! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# shellcheck disable=SC2317 # called from the scripts' traps, which
# are not followed
# wait_gone PID SECONDS: true once PID has exited, false on timeout.
wait_gone()
{
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		alive "$1" || return 0
		sleep 0.1
	done
	return 1
}

# shellcheck disable=SC2317 # called from the traps
# tree PID: prints PID and all its descendants. Killing a command alone is
# not enough: ctest exits on SIGTERM but leaves the running tests behind,
# and those would outlive us. /proc/PID/task/*/children is not on every
# kernel, so the parent links come from /proc/*/stat.
tree()
{
	local stat pid ppid rest i=0
	local -a list=("$1")
	local -A kids=()
	for stat in /proc/[0-9]*/stat; do
		read -r rest 2>/dev/null <"$stat" || continue
		pid=${stat#/proc/}
		pid=${pid%/stat}
		# "PID (COMM) STATE PPID ...": COMM may hold spaces and ")".
		rest=${rest##*) }
		read -r _ ppid _ <<<"$rest"
		kids[$ppid]+=" $pid"
	done
	while ((i < ${#list[@]})); do
		# shellcheck disable=SC2206 # split on purpose: a list of pids
		list+=(${kids[${list[i]}]:-})
		i=$((i + 1))
	done
	printf '%s\n' "${list[@]}"
}

# shellcheck disable=SC2317 # called from the traps
# kill_tree PID: TERM to PID and all its descendants at once, then KILL to
# each one still there after 10 s. For the command a script runs (ctest,
# say), on any exit of the script.
kill_tree()
{
	local pid
	local -a pids
	alive "$1" || return 0
	mapfile -t pids < <(tree "$1")
	kill -TERM "${pids[@]}" 2>/dev/null
	for pid in "${pids[@]}"; do
		wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null
	done
	return 0
}

# True when something already listens on 127.0.0.1:PORT. Only a hint, to skip
# ports that are plainly taken: two runs can still pick the same port at the
# same moment, and the start loops retry on a bind failure for that.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# reserve NAME: true once this shell holds the lock file NAME (a port, or a
# name for a range of them) in PORT_LOCKS, which it keeps until it exits
# (the servers it starts inherit it too), so that two runs never pick the
# same ports, even while a server is still starting and not listening yet.
# Listening is not enough to own a port either: the fault campaign kills a
# server and starts it again on the same port, and another run must not take
# the port in between (seen: "Bind on TCP/IP port ... Address already in
# use" on the restart).
reserve()
{
	local fd
	mkdir -p "$PORT_LOCKS"
	exec {fd}>>"$PORT_LOCKS/$1" || return 1
	if ! flock -n "$fd"; then
		exec {fd}>&-
		return 1
	fi
}

# as_pg OUT CMD...: runs CMD as postgres from / (our own cwd, /root say, may
# be closed to it, and initdb and pg_ctl complain), stdout and stderr to OUT.
# The redirection is made inside the subshell on purpose: one on a function
# call holds for the whole shell meanwhile, so a trap that fired then would
# send our own messages into OUT too.
as_pg()
{
	local out=$1
	shift
	(cd / && exec runuser -u postgres -- "$@" >"$out" 2>&1)
}

# elapsed START: seconds since START (an $EPOCHREALTIME), e.g. "1.25s".
elapsed()
{
	# Digits only: the separator follows the locale's decimal point.
	local now=${EPOCHREALTIME//[.,]/} start=${1//[.,]/} ms
	ms=$(((now - start) / 1000))
	printf '%d.%02ds' $((ms / 1000)) $((ms % 1000 / 10))
}
