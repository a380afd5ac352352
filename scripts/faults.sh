#!/usr/bin/env bash
# The fault campaign (tests/faults/campaign.py) against servers of its own:
#
#   bash scripts/faults.sh --minutes 60      the long campaign, with a table
#   bash scripts/faults.sh --bounded         what CI runs (ctest: faults)
#   bash scripts/faults.sh --engine galera --minutes 10
#                                            the Galera cluster alone
#   bash scripts/faults.sh --engine pg --scenario up_txn --fault kill \
#       --seed 123 --runs 1                  one case again, by its seed
#
# The campaign kills and restarts the servers and fills their disk, so it
# gets its own pair from scripts/with-servers.sh, never the one other tests
# use at the same time, with their data on a tmpfs (MG_TEST_SERVERS_TMPFS,
# default 512m) where mounting is allowed. MG_BIN names the binary (default
# build-test/migrate, built here if missing). Needs root, as with-servers.sh.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -z ${MG_BIN:-} ]]; then
	MG_BIN=$PWD/build-test/migrate
	if [[ ! -x $MG_BIN ]]; then
		# shellcheck source-path=SCRIPTDIR/..
		. scripts/deps.sh
		mg_deps build test
		cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug >/dev/null
		cmake --build build-test -j2 --target migrate
	fi
fi
export MG_BIN
export MG_TEST_SERVERS_TMPFS=${MG_TEST_SERVERS_TMPFS:-512m}
# Ports of their own: the campaign's servers are down now and then, and an
# ordinary test run starting meanwhile would take the port they come back on.
export MG_TEST_PG_PORT_BASE=${MG_TEST_PG_PORT_BASE:-56432}
export MG_TEST_MYSQL_PORT_BASE=${MG_TEST_MYSQL_PORT_BASE:-54306}
# The Galera engine (issue 12's lease) needs scripts/with-cluster.sh's
# three nodes inside with-servers.sh: started when asked for by
# --engine galera, and for a long campaign (--minutes) that names no
# engine, unless MG_FAULTS_GALERA=0. Never for --bounded (CI): the
# cluster takes up to a minute to start and its stops outlast a 10 s lease.
cluster=0
engines=0
minutes=0
for a in "$@"; do
	case $a in
	galera | --engine=galera) cluster=1 ;;
	--engine | --engine=*) engines=1 ;;
	--minutes | --minutes=*) minutes=1 ;;
	esac
done
if ((minutes && !engines)) && [[ ${MG_FAULTS_GALERA:-1} != 0 ]]; then
	cluster=1
fi
if ((cluster)); then
	exec bash scripts/with-servers.sh bash scripts/with-cluster.sh \
		python3 tests/faults/campaign.py "$@"
fi
exec bash scripts/with-servers.sh python3 tests/faults/campaign.py "$@"
