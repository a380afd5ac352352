/*
 * The fleet's process pool. fork() rather than threads: the commands print
 * with stdio and keep a little static state (host_name()), and a child that
 * crashes or hangs in a client library takes only its own target down. The
 * files are read before the first fork, so every child shares them.
 */
#include "cmd/fleet_pool.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "migrator/buf.h"

enum { OUT, ERR, RES, NFD };

struct slot {
	bool busy;
	pid_t pid;
	size_t job;
	int64_t t0;
	int fd[NFD]; /* -1 once at EOF */
	struct mg_buf text[2]; /* OUT, ERR: bytes not yet a whole line */
	unsigned char res[FLEET_RESULT_MAX];
	size_t rlen;
};

int64_t fleet_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Hands on every whole line of the slot's stream k; with `all`, the rest
 * too (the job has ended). */
static void flush_lines(struct slot *s, int k,
                        const struct fleet_pool_ops *ops, void *ctx, bool all)
{
	struct mg_buf *b = &s->text[k];
	size_t start = 0;
	char *nl;

	if (b->ptr == NULL)
		return;
	while (start < b->len &&
	       (nl = memchr(b->ptr + start, '\n', b->len - start)) != NULL) {
		*nl = '\0';
		ops->line(ctx, s->job, k == ERR, b->ptr + start);
		start = (size_t)(nl - b->ptr) + 1;
	}
	if (all && start < b->len) {
		ops->line(ctx, s->job, k == ERR, b->ptr + start);
		start = b->len;
	}
	if (start > 0) {
		memmove(b->ptr, b->ptr + start, b->len - start);
		mg_buf_truncate(b, b->len - start);
	}
}

/* In the child: the job's stdout and stderr become the pipes; nothing of
 * the other slots stays open. Never returns. */
static void child(struct slot *slots, int width, struct slot *s,
                  int pipes[NFD][2], const struct fleet_pool_ops *ops,
                  void *ctx)
{
	int i, k, code;

	for (i = 0; i < width; i++)
		for (k = 0; k < NFD; k++)
			if (slots[i].busy && &slots[i] != s)
				close_fd(&slots[i].fd[k]);
	for (k = 0; k < NFD; k++)
		close(pipes[k][0]);
	/* a parent that went away (its reader closed, ^C) must not cut a
	 * migration short: writes fail, the run goes on to its end */
	signal(SIGPIPE, SIG_IGN);
	if (dup2(pipes[OUT][1], STDOUT_FILENO) < 0 ||
	    dup2(pipes[ERR][1], STDERR_FILENO) < 0)
		_exit(1);
	close(pipes[OUT][1]);
	close(pipes[ERR][1]);
	code = ops->run(ctx, s->job, pipes[RES][1]);
	fflush(stdout);
	fflush(stderr);
	close(pipes[RES][1]);
	/* _exit: the parent's atexit handlers and buffers are its own */
	_exit(code);
}

static void cannot_start(size_t job, const struct fleet_pool_ops *ops,
                         void *ctx, const char *what)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "error: cannot start a process (%s): %s",
	         what, strerror(errno));
	ops->line(ctx, job, true, msg);
}

/* Starts job in the free slot s; false when it could not start (then
 * already reported as done). */
static bool start(struct slot *slots, int width, struct slot *s, size_t job,
                  const struct fleet_pool_ops *ops, void *ctx, bool *go_on)
{
	int pipes[NFD][2], k, made = 0;

	for (made = 0; made < NFD; made++)
		if (pipe(pipes[made]) < 0)
			break;
	s->job = job;
	if (made == NFD) {
		/* what the parent buffered must not be written twice */
		fflush(stdout);
		fflush(stderr);
		s->pid = fork();
	}
	if (made < NFD || s->pid < 0) {
		cannot_start(job, ops, ctx, made < NFD ? "pipe" : "fork");
		for (k = 0; k < made; k++) {
			close(pipes[k][0]);
			close(pipes[k][1]);
		}
		*go_on = ops->done(ctx, job, 1, 0, NULL, 0);
		return false;
	}
	if (s->pid == 0)
		child(slots, width, s, pipes, ops, ctx);
	for (k = 0; k < NFD; k++) {
		close(pipes[k][1]);
		s->fd[k] = pipes[k][0];
	}
	s->busy = true;
	s->t0 = fleet_now_ms();
	s->rlen = 0;
	return true;
}

/* The slot's job has closed all its pipes: reap it and report it. */
static bool finish(struct slot *s, const struct fleet_pool_ops *ops,
                   void *ctx)
{
	int status = 0, code;
	pid_t got;

	flush_lines(s, OUT, ops, ctx, true);
	flush_lines(s, ERR, ops, ctx, true);
	while ((got = waitpid(s->pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (got < 0)
		code = 1;
	else if (WIFSIGNALED(status))
		code = 128 + WTERMSIG(status);
	else
		code = WEXITSTATUS(status);
	s->busy = false;
	mg_buf_truncate(&s->text[OUT], 0);
	mg_buf_truncate(&s->text[ERR], 0);
	return ops->done(ctx, s->job, code, fleet_now_ms() - s->t0, s->res,
	                 s->rlen);
}

/* Reads what fd k of slot s has; closes it at EOF. */
static void drain(struct slot *s, int k, const struct fleet_pool_ops *ops,
                  void *ctx)
{
	char chunk[8192];
	ssize_t n;

	if (k == RES) {
		n = read(s->fd[k], chunk, sizeof(chunk));
		if (n > 0 && s->rlen < sizeof(s->res)) {
			size_t take = (size_t)n < sizeof(s->res) - s->rlen
			                      ? (size_t)n
			                      : sizeof(s->res) - s->rlen;

			memcpy(s->res + s->rlen, chunk, take);
			s->rlen += take;
		}
	} else {
		n = read(s->fd[k], chunk, sizeof(chunk));
		if (n > 0) {
			mg_buf_addn(&s->text[k], chunk, (size_t)n);
			flush_lines(s, k, ops, ctx, false);
		}
	}
	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
		close_fd(&s->fd[k]);
}

void fleet_pool_run(size_t *started, const size_t *jobs, size_t n, int width,
                    const struct fleet_pool_ops *ops, void *ctx)
{
	struct slot *sl = calloc((size_t)width, sizeof(*sl));
	struct pollfd *pf = calloc((size_t)width * NFD, sizeof(*pf));
	size_t next = 0;
	bool go_on = true;
	int i, k, busy;

	*started = 0;
	if (sl == NULL || pf == NULL) {
		errno = ENOMEM;
		for (; next < n && go_on; next++, (*started)++) {
			cannot_start(jobs[next], ops, ctx, "memory");
			go_on = ops->done(ctx, jobs[next], 1, 0, NULL, 0);
		}
		goto cleanup;
	}
	for (;;) {
		for (i = 0; i < width && go_on && next < n; i++) {
			if (sl[i].busy)
				continue;
			(*started)++;
			start(sl, width, &sl[i], jobs[next++], ops, ctx,
			      &go_on);
		}
		busy = 0;
		for (i = 0; i < width; i++) {
			for (k = 0; k < NFD; k++) {
				pf[i * NFD + k].fd = sl[i].busy ? sl[i].fd[k]
				                                : -1;
				pf[i * NFD + k].events = POLLIN;
				pf[i * NFD + k].revents = 0;
			}
			busy += sl[i].busy;
		}
		if (busy == 0)
			break;
		if (poll(pf, (nfds_t)width * NFD, -1) < 0 && errno != EINTR)
			break;
		for (i = 0; i < width; i++) {
			bool open = false;

			if (!sl[i].busy)
				continue;
			for (k = 0; k < NFD; k++)
				if (sl[i].fd[k] >= 0 &&
				    (pf[i * NFD + k].revents &
				     (POLLIN | POLLHUP | POLLERR)))
					drain(&sl[i], k, ops, ctx);
			for (k = 0; k < NFD; k++)
				open = open || sl[i].fd[k] >= 0;
			if (!open && !finish(&sl[i], ops, ctx))
				go_on = false;
		}
	}
	for (i = 0; i < width; i++) {
		mg_buf_dispose(&sl[i].text[OUT]);
		mg_buf_dispose(&sl[i].text[ERR]);
	}
cleanup:
	free(sl);
	free(pf);
}
