/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The management socket: a Unix stream socket served by libevent. Every
 * client is a bufferevent; nothing here blocks. Lines over the limit,
 * partial lines left to stall, idle clients, too many clients and refused
 * peers each get one error line and are closed. A client that hangs up
 * before reading its answer is a normal disconnect: the write fails with
 * EPIPE or ECONNRESET, the bufferevent reports an error and the client is
 * freed (the daemon ignores SIGPIPE).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "mgmt_private.h"

/** A client that does not read its responses is dropped past this. */
#define MGMT_OUTPUT_MAX (8u << 20)

static void
client_free(struct mgmt_client *c)
{
	struct mgmt *m = c->m;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		m->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	m->n_clients--;
	bufferevent_free(c->bev);
	free(c);
}

/* Every request gets a line back, even when its answer cannot be encoded. */
static void
send_json(struct bufferevent *bev, json_t *resp)
{
	static const char fallback[] = "{\"id\":null,\"ok\":false,\"error\":{\"code\":"
		"\"failed\",\"message\":\"the answer could not be encoded\"}}";
	char *text = resp != NULL ? json_dumps(resp, JSON_COMPACT) : NULL;

	if (text != NULL)
		bufferevent_write(bev, text, strlen(text));
	else
		bufferevent_write(bev, fallback, sizeof(fallback) - 1);
	bufferevent_write(bev, "\n", 1);
	free(text);
	json_decref(resp);
}

/* Tell the client why, then close once the words have left (or after a
 * few seconds, should it not read them). */
static void
client_reject(struct mgmt_client *c, const char *code, const char *message)
{
	const struct timeval flush = { MGMT_PARTIAL_TIMEOUT_S, 0 };

	send_json(c->bev, json_pack("{s:n,s:b,s:{s:s,s:s}}", "id", "ok", 0,
				    "error", "code", code, "message", message));
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_set_timeouts(c->bev, NULL, &flush);
}

/* Read timeout: a partial line must complete soon; an idle client may wait
 * for its next request a while longer. */
static void
client_arm_timeout(struct mgmt_client *c)
{
	const struct timeval partial = { MGMT_PARTIAL_TIMEOUT_S, 0 };
	const struct timeval idle = { c->m->client_timeout_s, 0 };
	bool part = evbuffer_get_length(bufferevent_get_input(c->bev)) != 0;

	bufferevent_set_timeouts(c->bev, part ? &partial : &idle, NULL);
}

static void
client_read(struct bufferevent *bev, void *arg)
{
	struct mgmt_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t n;

	while (!c->closing && (line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF)) != NULL) {
		if (n > MGMT_LINE_MAX) {
			free(line);
			client_reject(c, MGMT_E_LINE, "request line longer than 65536 bytes");
			return;
		}
		send_json(bev, mgmt_dispatch(c->m, line, n));
		free(line);
	}
	if (c->closing)
		return;
	if (evbuffer_get_length(in) > MGMT_LINE_MAX) {
		client_reject(c, MGMT_E_LINE, "request line longer than 65536 bytes");
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(bev)) > MGMT_OUTPUT_MAX) {
		client_free(c); /* not reading its answers */
		return;
	}
	client_arm_timeout(c);
}

static void
client_write(struct bufferevent *bev, void *arg)
{
	struct mgmt_client *c = arg;

	if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		client_free(c);
}

static void
client_event(struct bufferevent *bev, short what, void *arg)
{
	struct mgmt_client *c = arg;

	if ((what & BEV_EVENT_TIMEOUT) && !c->closing) {
		char msg[96];

		if (evbuffer_get_length(bufferevent_get_input(bev)) != 0)
			snprintf(msg, sizeof(msg), "partial request line stalled for %d s",
				 MGMT_PARTIAL_TIMEOUT_S);
		else
			snprintf(msg, sizeof(msg), "no request for %u s: closed",
				 c->m->client_timeout_s);
		client_reject(c, MGMT_E_TIMEOUT, msg);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		client_free(c);
}

static bool
gid_listed(const gid_t *groups, size_t n, gid_t gid)
{
	for (size_t i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* The user database's groups of @p uid (kernels without SO_PEERGROUPS). */
static bool
user_in_group(uid_t uid, gid_t gid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t groups[1024];
	int n = 1024;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || res == NULL ||
	    getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
		return false;
	return gid_listed(groups, (size_t)n, gid);
}

/* Is @p gid among the supplementary groups the peer connected with? */
static bool
peer_in_group(int fd, uid_t uid, gid_t gid)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof(small);
	bool in;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0) {
		if (errno != ERANGE)
			return errno == ENOPROTOOPT && user_in_group(uid, gid);
		groups = malloc(len); /* len now says how much is needed */
		if (groups == NULL ||
		    getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0) {
			free(groups);
			return false;
		}
	}
	in = gid_listed(groups, len / sizeof(gid_t), gid);
	if (groups != small)
		free(groups);
	return in;
}

static bool
peer_allowed(const struct mgmt *m, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return false;
	return cred.uid == 0 || cred.uid == geteuid() || cred.gid == m->gid ||
	       peer_in_group(fd, cred.uid, m->gid);
}

/*
 * Make room for a new client: close the longest-connected client with
 * nothing buffered either way (the list is newest first). Told in a line
 * sent without blocking; false when every client is busy.
 */
static bool
evict_idle(struct mgmt *m, const struct mgmt_client *keep)
{
	static const char msg[] = "{\"id\":null,\"ok\":false,\"error\":{\"code\":"
		"\"too_many_clients\",\"message\":\"idle client closed to make room "
		"for a new one\"}}\n";
	struct mgmt_client *idle = NULL;

	for (struct mgmt_client *c = m->clients; c != NULL; c = c->next)
		if (c != keep && !c->closing &&
		    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0 &&
		    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			idle = c;
	if (idle == NULL)
		return false;
	(void)!send(bufferevent_getfd(idle->bev), msg, sizeof(msg) - 1,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	client_free(idle);
	return true;
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
	  int socklen, void *arg)
{
	struct mgmt *m = arg;
	struct mgmt_client *c = calloc(1, sizeof(*c));

	(void)l;
	(void)sa;
	(void)socklen;
	if (c == NULL) {
		close(fd);
		return;
	}
	c->m = m;
	c->bev = bufferevent_socket_new(m->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	c->next = m->clients;
	if (m->clients != NULL)
		m->clients->prev = c;
	m->clients = c;
	m->n_clients++;
	bufferevent_setcb(c->bev, client_read, client_write, client_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, MGMT_LINE_MAX + 2);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (!peer_allowed(m, fd))
		client_reject(c, "forbidden", "only root and the socket's group may connect");
	else if (m->n_clients > MGMT_MAX_CLIENTS && !evict_idle(m, c))
		client_reject(c, MGMT_E_CLIENTS, "too many clients; try again later");
	else
		client_arm_timeout(c);
}

static void
listener_resume(evutil_socket_t fd, short what, void *arg)
{
	struct mgmt *m = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(m->listener);
}

/* Out of descriptors (or similar): pause accepting for a moment rather
 * than spin on a listener that cannot accept. */
static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	struct mgmt *m = arg;
	const struct timeval pause = { 0, 100000 };

	evconnlistener_disable(l);
	event_base_once(m->base, -1, EV_TIMEOUT, listener_resume, m, &pause);
}

int
mgmt_listen(struct mgmt *m, const char *path, gid_t gid, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path '%s' is too long (at most %zu bytes)",
			 path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	strcpy(sa.sun_path, path);
	snprintf(m->path, sizeof(m->path), "%s", path);
	m->gid = gid == (gid_t)-1 ? getegid() : gid;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create a socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN) {
		snprintf(err, errlen, "%s is in use by a running umbra: stop it, or "
			 "give this one another path (--socket PATH)", path);
		close(fd);
		return -1;
	}
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create a socket: %s", strerror(errno));
		return -1;
	}
	unlink(path); /* nobody answers: a stale socket from an earlier run */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(path, 0660) != 0 || chown(path, (uid_t)-1, m->gid) != 0 ||
	    listen(fd, 1024) != 0) {
		snprintf(err, errlen, "cannot serve on %s: %s (does its directory "
			 "exist and is it writable?)", path, strerror(errno));
		close(fd);
		return -1;
	}
	m->listener = evconnlistener_new(m->base, on_accept, m, LEV_OPT_CLOSE_ON_FREE,
					 -1, fd);
	if (m->listener == NULL) {
		snprintf(err, errlen, "cannot listen on %s", path);
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(m->listener, on_accept_error);
	m->listen_fd = fd;
	return 0;
}

void
mgmt_set_client_timeout(struct mgmt *m, unsigned int seconds)
{
	m->client_timeout_s = seconds ? seconds : MGMT_CLIENT_TIMEOUT_S;
	for (struct mgmt_client *c = m->clients; c != NULL; c = c->next)
		if (!c->closing)
			client_arm_timeout(c);
}

unsigned int
mgmt_clients(const struct mgmt *m)
{
	return m->n_clients;
}

void
mgmt_free(struct mgmt *m)
{
	if (m == NULL)
		return;
	while (m->clients != NULL)
		client_free(m->clients);
	mgmt_http_free(m->http);
	mgmt_events_free(m->events); /* after the streams' connections closed */
	if (m->listener != NULL) {
		evconnlistener_free(m->listener);
		unlink(m->path);
	}
	while (m->commands != NULL) {
		struct mgmt_command *next = m->commands->next;

		free(m->commands);
		m->commands = next;
	}
	free(m);
}
