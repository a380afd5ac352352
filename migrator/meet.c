#include "migrator/meet.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/ledger.h"
#include "migrator/runner.h"

/* The marker's words; status finds the pid after MARKER_BY. */
#define MARKER_START "started outside a transaction"
#define MARKER_BY " by pid "

bool mg_meet_conflict(const struct mg_error *err)
{
	static const char *const states[] = { "23505", "23000", "40001",
		                              "40P01" };
	size_t i;

	if (err == NULL)
		return false;
	for (i = 0; i < sizeof(states) / sizeof(*states); i++)
		if (strcmp(err->sqlstate, states[i]) == 0)
			return true;
	return false;
}

/* Who holds the run lock now, from the driver; "" if it cannot tell. */
static int holder(char *who, size_t size, struct mg_conn *conn,
                  const char *table)
{
	char name[128];
	int64_t key;

	who[0] = '\0';
	if (conn->drv->lock_holder == NULL)
		return -1;
	mg_runner_lock_name(name, &key, conn, table);
	return conn->drv->lock_holder(conn, name, key, who, size);
}

int mg_meet_report(struct mg_error *err, struct mg_conn *conn,
                   const char *table)
{
	char server[sizeof(err->msg)], who[256];

	if (err == NULL)
		return MG_ELOCKED;
	snprintf(server, sizeof(server), "%s", err->msg);
	mg_error_set(err, MG_ELOCKED,
	             "another migrate run is active: it wrote the ledger "
	             "meanwhile, so this run stopped");
	if (holder(who, sizeof(who), conn, table) == 1)
		mg_error_detail(err, "the run lock is held by %s\n%s", who,
		                server);
	else
		mg_error_detail(err, "%s", server);
	mg_error_hint(err, "run again once the other run has finished; "
	                   "`migrate status` shows where it got to");
	return MG_ELOCKED;
}

void mg_meet_marker(char *out, size_t size, const char *host)
{
	snprintf(out, size,
	         MARKER_START MARKER_BY "%ld on host %s; if no later event "
	         "follows and that run has ended, the run was interrupted and "
	         "the file may be half-applied",
	         (long)getpid(), host != NULL ? host : "?");
}

/* Whether the holder's description names the marker's host, where it
 * names one ("host Y" or "host=Y"); pids are only unique per host. */
static bool same_host(const char *who, const char *host)
{
	const char *h = strstr(who, "host ");
	size_t n;

	if (h == NULL)
		h = strstr(who, "host=");
	if (h == NULL || host == NULL)
		return true;
	h += 5;
	n = strcspn(h, " ,;)");
	return strlen(host) == n && strncmp(h, host, n) == 0;
}

bool mg_meet_in_progress(char *out, size_t size, struct mg_conn *conn,
                         const char *table, const struct mg_ledger_row *last)
{
	const char *e = last != NULL ? last->f[MG_LF_ERROR] : NULL;
	const char *st = last != NULL ? last->f[MG_LF_STATUS] : NULL;
	char who[256];
	const char *by;
	long pid;

	if (e == NULL || st == NULL || strcmp(st, "dirty") != 0 ||
	    strncmp(e, MARKER_START, strlen(MARKER_START)) != 0 ||
	    (by = strstr(e, MARKER_BY)) == NULL)
		return false;
	pid = strtol(by + strlen(MARKER_BY), NULL, 10);
	/* the lock held now, and by that process where the driver names
	 * it: a runner that died left the lock free (or its lease
	 * unrenewed) */
	if (holder(who, sizeof(who), conn, table) != 1)
		return false;
	if (((by = strstr(who, "pid ")) != NULL ||
	     (by = strstr(who, "pid=")) != NULL) &&
	    strtol(by + 4, NULL, 10) != pid)
		return false;
	if (!same_host(who, last->f[MG_LF_HOST]))
		return false;
	snprintf(out, size, "in progress by pid %ld on host %s since %s", pid,
	         last->f[MG_LF_HOST] ? last->f[MG_LF_HOST] : "?",
	         last->f[MG_LF_STARTED_AT] ? last->f[MG_LF_STARTED_AT] : "?");
	return true;
}
