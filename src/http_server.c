/* SPDX-License-Identifier: MIT */
/*
 * The libmicrohttpd edge: listener set-up, body collection under a cap,
 * per-request state (owned by MHD's completion callback, journal-remote
 * style), JSON responses and the drain on shutdown. What a path means is
 * the handler's business (webhook_http.c, later the admin API).
 */
#include "tracksies/http_server.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "tracksies/log.h"

#define DRAIN_GRACE_MS 500

struct http_server {
	struct MHD_Daemon *mhd;
	struct http_server_options opt;
	char name[16];
	atomic_uint in_flight;
	atomic_uint suspended;	/* deferred and not yet resumed */
	uint16_t port;
};

/*
 * A deferred answer. It lives inside its request's state: the request stays
 * suspended (so the state stays alive) until http_deferred_resume.
 */
struct http_deferred {
	struct http_server *srv;
	struct MHD_Connection *conn;
	http_handler_fn finish;
	void *data;		/* malloc'd; free()d with the request */
	int state;		/* DEFER_*; RESUMED set by the resuming thread */
	int deferring;		/* set by the handler's thread, read after it */
};

enum { DEFER_NONE = 0, DEFER_WAITING, DEFER_RESUMED };

/* Per-request state: hangs off *con_cls, freed in request_completed. */
struct request_state {
	char *body;
	size_t len;
	size_t cap;
	int too_big;
	struct http_deferred defer;
};

static void
set_errmsg(char **errmsg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
set_errmsg(char **errmsg, const char *fmt, ...)
{
	va_list ap;

	if (errmsg == NULL)
		return;
	if ((*errmsg = malloc(256)) == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(*errmsg, 256, fmt, ap);
	va_end(ap);
}

static enum MHD_Result
send_response(struct MHD_Connection *conn, struct http_response *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char retry[32];

	resp = MHD_create_response_from_buffer(r->body_len, r->body,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(r->body);
		return MHD_NO;
	}
	r->body = NULL;
	if (r->content_type != NULL)
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    r->content_type);
	if (r->allow != NULL)
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->retry_after_s > 0) {
		(void)snprintf(retry, sizeof(retry), "%ld", r->retry_after_s);
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER,
		    retry);
	}
	ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

void
http_response_json_text(struct http_response *resp, unsigned status,
    char *text, size_t len)
{
	free(resp->body);
	resp->status = status;
	resp->content_type = "application/json";
	resp->body = text;
	resp->body_len = len;
}

void
http_response_json(struct http_response *resp, unsigned status, json_t *doc)
{
	char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;

	if (text == NULL) {
		/* Out of memory: still answer, with an empty object. */
		status = doc != NULL ? 500 : status;
		text = strdup("{}");
	}
	http_response_json_text(resp, status, text, text != NULL ? strlen(text) : 0);
	json_decref(doc);
}

void
http_response_error(struct http_response *resp, unsigned status,
    const char *code, const char *message)
{
	http_response_json(resp, status, json_pack("{s:{s:s,s:s}}", "error",
	    "code", code, "message", message));
}

static enum MHD_Result
answer_error(struct MHD_Connection *conn, unsigned status, const char *code,
    const char *message)
{
	struct http_response r = { 0 };

	http_response_error(&r, status, code, message);
	return send_response(conn, &r);
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct request_state *st = *con_cls;
	struct http_response resp = { 0 };
	struct http_request req;
	enum MHD_Result ret;

	(void)version;
	if (st == NULL) {
		const char *cl;
		if ((st = calloc(1, sizeof(*st))) == NULL)
			return MHD_NO;
		*con_cls = st;
		st->defer.srv = srv;
		atomic_fetch_add(&srv->in_flight, 1);
		/* Refuse before reading a byte of an announced oversize body. */
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && strtoull(cl, NULL, 10) > srv->opt.max_body_bytes)
			st->too_big = 1;
		if (!st->too_big)
			return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (st->too_big)
			return MHD_YES;
		if (st->len + n > srv->opt.max_body_bytes) {
			/* Chunked upload over the cap: drop what we hold. */
			st->too_big = 1;
			free(st->body);
			st->body = NULL;
			st->len = st->cap = 0;
			return MHD_YES;
		}
		if (st->len + n + 1 > st->cap) {
			size_t cap = st->cap ? st->cap : 8192;
			char *grown;
			while (cap < st->len + n + 1)
				cap *= 2;
			if (cap > srv->opt.max_body_bytes + 1)
				cap = srv->opt.max_body_bytes + 1;
			if ((grown = realloc(st->body, cap)) == NULL)
				return MHD_NO;
			st->body = grown;
			st->cap = cap;
		}
		memcpy(st->body + st->len, upload_data, n);
		st->len += n;
		return MHD_YES;
	}
	if (st->too_big) {
		char msg[96];
		(void)snprintf(msg, sizeof(msg), "request body exceeds %zu bytes",
		    srv->opt.max_body_bytes);
		log_warn("%s: rejected status=413 reason=body_too_large path=%s",
		    srv->name, url);
		return answer_error(conn, 413, "body_too_large", msg);
	}
	req.method = method;
	req.path = url;
	req.body = st->body != NULL ? st->body : "";
	if (st->body != NULL)
		st->body[st->len] = '\0';
	req.body_len = st->len;
	req.conn = conn;
	req.state = st;
	req.data = st->defer.data;
	if (st->defer.state == DEFER_RESUMED) {
		/* Called again after http_deferred_resume: finish the answer. */
		st->defer.state = DEFER_NONE;
		st->defer.finish(srv->opt.ctx, &req, &resp);
	} else {
		srv->opt.handler(srv->opt.ctx, &req, &resp);
		if (st->defer.deferring) {
			/* Suspended (maybe resumed already): answered later. */
			st->defer.deferring = 0;
			return MHD_YES;
		}
	}
	if (resp.status == 0)
		http_response_error(&resp, 500, "internal", "no response");
	ret = send_response(conn, &resp);
	return ret;
}

static void
request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct request_state *st = *con_cls;

	(void)conn;
	(void)toe;
	if (st == NULL)
		return;
	free(st->defer.data);
	free(st->body);
	free(st);
	*con_cls = NULL;
	atomic_fetch_sub(&srv->in_flight, 1);
}

struct http_deferred *
http_request_defer(const struct http_request *req, http_handler_fn finish,
    void *data)
{
	struct request_state *st = req->state;
	struct http_deferred *d = &st->defer;

	if (d->state != DEFER_NONE || d->deferring) {
		free(data);
		return NULL;
	}
	d->conn = req->conn;
	d->finish = finish;
	free(d->data);
	d->data = data;
	d->state = DEFER_WAITING;
	d->deferring = 1;
	atomic_fetch_add(&d->srv->suspended, 1);
	/*
	 * Suspended before anyone can resume it: libmicrohttpd drops a resume
	 * that comes before the suspend, and the request would hang.
	 */
	MHD_suspend_connection(d->conn);
	return d;
}

void
http_deferred_resume(struct http_deferred *d)
{
	struct http_server *srv = d->srv;

	d->state = DEFER_RESUMED;
	MHD_resume_connection(d->conn);
	/* d may be gone from here on: the request can complete at once. */
	atomic_fetch_sub(&srv->suspended, 1);
}

static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
	struct http_server *srv = cls;
	char line[512];
	size_t len;

	(void)vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	while (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	log_warn("%s: mhd: %s", srv->name, line);
}

/* "1.2.3.4:80", "[::1]:80", "localhost:80" -> a socket address. */
static enum ts_rc
resolve_listen(const char *listen, struct sockaddr_storage *ss,
    socklen_t *len)
{
	char host[256];
	const char *colon, *port, *h = listen;
	size_t hlen;
	struct addrinfo hints = { 0 }, *res = NULL;

	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (close == NULL || close[1] != ':')
			return TS_ERR_INVALID;
		h = listen + 1;
		hlen = (size_t)(close - h);
		port = close + 2;
	} else {
		if ((colon = strrchr(listen, ':')) == NULL)
			return TS_ERR_INVALID;
		hlen = (size_t)(colon - listen);
		port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host) || *port == '\0')
		return TS_ERR_INVALID;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL)
		return TS_ERR_INVALID;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return TS_OK;
}

enum ts_rc
http_server_start(const struct http_server_options *opt,
    struct http_server **out, char **errmsg)
{
	struct http_server *srv = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	unsigned flags = HTTP_SERVER_LOOP_FLAGS | MHD_ALLOW_SUSPEND_RESUME |
	    MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;

	*out = NULL;
	if (errmsg != NULL)
		*errmsg = NULL;
	if (resolve_listen(opt->listen, &ss, &sslen) != TS_OK) {
		set_errmsg(errmsg, "%s: cannot use listen address '%s'",
		    opt->name, opt->listen);
		return TS_ERR_INVALID;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return TS_ERR_NOMEM;
	srv->opt = *opt;
	(void)snprintf(srv->name, sizeof(srv->name), "%s", opt->name);
	srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, access_handler, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, srv,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, opt->threads > 0 ? opt->threads : 1u,
	    MHD_OPTION_NOTIFY_COMPLETED, request_completed, srv,
	    MHD_OPTION_CONNECTION_TIMEOUT, 60u,
	    MHD_OPTION_END);
	if (srv->mhd == NULL) {
		set_errmsg(errmsg, "%s: cannot listen on %s: %s", opt->name,
		    opt->listen, strerror(errno));
		free(srv);
		return TS_ERR_IO;
	}
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info != NULL ? info->port : 0;
	*out = srv;
	return TS_OK;
}

uint16_t
http_server_port(const struct http_server *srv)
{
	return srv->port;
}

unsigned
http_server_in_flight(const struct http_server *srv)
{
	return atomic_load(&srv->in_flight);
}

void
http_server_stop(struct http_server *srv, unsigned drain_ms)
{
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	MHD_socket fd;

	if (srv == NULL)
		return;
	/*
	 * Stop accepting; connections already open finish their request. The
	 * listening socket is ours to close, but only after MHD_stop_daemon:
	 * until then a pool thread may still be watching it, and
	 * a closed (or reused) descriptor there makes libmicrohttpd abort.
	 */
	fd = MHD_quiesce_daemon(srv->mhd);
	/*
	 * Requests being handled finish (up to drain_ms). Connections accepted
	 * just before the quiesce get a short grace to send their request;
	 * idle keep-alive connections are not waited for beyond it.
	 */
	for (unsigned waited = 0; waited < drain_ms; waited += 10) {
		const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->mhd,
		    MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		unsigned open_conns = info != NULL ? info->num_connections : 0;

		if (atomic_load(&srv->in_flight) == 0 &&
		    (open_conns == 0 || waited >= DRAIN_GRACE_MS))
			break;
		(void)nanosleep(&nap, NULL);
	}
	/*
	 * A suspended request is waiting for its commit, which always ends
	 * (the queue's busy timeout bounds it); libmicrohttpd must not be
	 * stopped with one still suspended.
	 */
	for (unsigned waited = 0; atomic_load(&srv->suspended) > 0; waited += 10) {
		if (waited > 0 && waited % 5000 == 0)
			log_warn("%s: shutdown waits for %u deferred answers",
			    srv->name, atomic_load(&srv->suspended));
		(void)nanosleep(&nap, NULL);
	}
	MHD_stop_daemon(srv->mhd);
	if (fd != MHD_INVALID_SOCKET)
		(void)close(fd);
	free(srv);
}

const char *
http_request_header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *
http_request_query(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND,
	    name);
}

struct prefix_scan {
	const char *prefix;
	size_t len;
	int found;
};

static enum MHD_Result
scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct prefix_scan *scan = cls;

	(void)kind;
	(void)value;
	if (strncasecmp(key, scan->prefix, scan->len) == 0) {
		scan->found = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

int
http_request_has_header_prefix(const struct http_request *req,
    const char *prefix)
{
	struct prefix_scan scan = { prefix, strlen(prefix), 0 };

	(void)MHD_get_connection_values(req->conn, MHD_HEADER_KIND, scan_header,
	    &scan);
	return scan.found;
}
