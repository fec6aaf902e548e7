/* SPDX-License-Identifier: MIT */
/*
 * One libmicrohttpd listener: binds, collects request bodies under a hard
 * cap (413 above it, decided from Content-Length before any body byte is
 * read when the client sends one), hands complete requests to a handler, and
 * drains in-flight requests on shutdown. Routing is the handler's job.
 */
#ifndef TRACKSIES_HTTP_SERVER_H
#define TRACKSIES_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tracksies/rc.h"

struct http_server;

/*
 * libmicrohttpd's event loop for every listener (expand it where
 * <microhttpd.h> is included): a pool of internal threads, each polling its
 * connections with poll(2). Not epoll: a deferred answer suspends its
 * request, and with epoll every suspend takes the socket out of the epoll
 * set and every resume puts it back, two system calls per delivery that
 * poll(2) does not need (docs/performance.md, "Webhook intake").
 * bench/intake/bare.c runs the same loop.
 */
#define HTTP_SERVER_LOOP_FLAGS \
	(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC)

/* A complete request, borrowed for the duration of the handler call. */
struct http_request {
	const char *method;
	const char *path;	/* without the query string */
	const char *body;	/* NUL-terminated for convenience; may hold NULs */
	size_t body_len;
	void *data;		/* in a finish call: what http_request_defer got */
	void *conn;		/* internal: the MHD connection */
	void *state;		/* internal: the request's state */
};

/* What the handler answers. body is owned (malloc'd) and freed for you. */
struct http_response {
	unsigned status;
	const char *content_type;	/* static string */
	char *body;
	size_t body_len;
	const char *allow;		/* Allow header for 405, static, or NULL */
	long retry_after_s;		/* Retry-After when > 0 */
};

typedef void (*http_handler_fn)(void *ctx, const struct http_request *req,
    struct http_response *resp);

struct http_server_options {
	const char *name;		/* "webhook", "admin": for logs */
	const char *listen;		/* "host:port", port 0 = ephemeral */
	size_t max_body_bytes;
	unsigned threads;		/* request threads (MHD's pool) */
	http_handler_fn handler;
	void *ctx;
};

/*
 * Bind and start serving. On TS_OK *out belongs to the caller
 * (http_server_stop). TS_ERR_INVALID for an unusable address, TS_ERR_IO
 * when binding fails; *errmsg (may be NULL) then gets an owned message.
 */
enum ts_rc http_server_start(const struct http_server_options *opt,
    struct http_server **out, char **errmsg);

/* The bound port (useful with port 0). */
uint16_t http_server_port(const struct http_server *srv);

/* Requests being handled right now. */
unsigned http_server_in_flight(const struct http_server *srv);

/*
 * Stop accepting connections, wait up to drain_ms for in-flight requests to
 * finish (and for every deferred answer, however long), then stop and free
 * srv. NULL is a no-op. Main thread.
 */
void http_server_stop(struct http_server *srv, unsigned drain_ms);

/*
 * Answer later, without holding a request thread. Called by a handler, it
 * suspends the request; the handler then starts the work and returns
 * without filling its response. Once some thread (any) calls
 * http_deferred_resume(d), finish(ctx, req, resp) runs on a request thread
 * with the same request (headers, body) and req->data = data, and fills the
 * answer. data is malloc'd or NULL; it is freed with the request (finish
 * must not free it). NULL when the request cannot be deferred (data is
 * freed): answer now. Once per request.
 */
struct http_deferred;
struct http_deferred *http_request_defer(const struct http_request *req,
    http_handler_fn finish, void *data);

/* The deferred work is done: finish will run. Exactly once per defer. */
void http_deferred_resume(struct http_deferred *d);

/* Header value (case-insensitive name) or NULL. */
const char *http_request_header(const struct http_request *req,
    const char *name);

/* Query-string argument or NULL. */
const char *http_request_query(const struct http_request *req,
    const char *name);

/* True when any request header name starts with prefix (case-insensitive). */
int http_request_has_header_prefix(const struct http_request *req,
    const char *prefix);

/* Answer status with doc serialised as JSON. Steals doc. */
void http_response_json(struct http_response *resp, unsigned status,
    json_t *doc);

/* Answer status with JSON already written: text (malloc'd) is stolen. */
void http_response_json_text(struct http_response *resp, unsigned status,
    char *text, size_t len);

/* Answer status with {"error":{"code":code,"message":message}}. */
void http_response_error(struct http_response *resp, unsigned status,
    const char *code, const char *message);

#endif
