/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the admin API's request handling - routing, ids in paths,
 * query parameters, JSON bodies, the actor header - end to end through the
 * real listener (admin_api_start) on 127.0.0.1:0, a migrated database in a
 * temp dir and a real queue, as the daemon runs it. The handler is static
 * behind libmicrohttpd, so each input becomes one HTTP request on a
 * loopback socket. The database keeps what earlier inputs created, which
 * is what a long-running daemon sees too; a crash found here may need the
 * inputs before it to reproduce (libFuzzer's -runs on the corpus does).
 *
 * Input: a flags byte (bits 0-2: method GET POST PUT PATCH DELETE HEAD
 * OPTIONS, or a made-up one; bit 3: send the right bearer token, else none
 * or a wrong one by bit 4; bit 5: send X-Tracksies-Actor), then the path
 * with its query up to a line feed (every byte that is not plainly safe is
 * percent-encoded, so the handler sees it decoded), then the actor header
 * value up to a line feed, then the body.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "tracksies/admin_api.h"
#include "tracksies/config.h"
#include "tracksies/db.h"
#include "tracksies/migrate.h"
#include "tracksies/queue.h"

#include "fuzz_targets.h"

#define FUZZ_ADMIN_TOKEN "fuzz-admin-token-0123456789abcdef"

static struct config *fuzz_admin_cfg;
static struct queue *fuzz_admin_queue;
static struct admin_api *fuzz_admin_api;
static uint16_t fuzz_admin_port;

void
fuzz_admin_init(void)
{
	char dir[512], text[1536];
	struct admin_api_options opt = { 0 };
	struct db *db = NULL;
	char *errors = NULL;

	if (fuzz_admin_api != NULL)
		return;
	snprintf(dir, sizeof(dir), "%s/tracksies-fuzz-admin-XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(text, sizeof(text),
	    "[store]\nurl = http://127.0.0.1:9\nconsumer_key = ck_fuzz\n"
	    "consumer_secret = cs_fuzz\n[webhook]\nsecret = %s\n"
	    "[admin]\nlisten = 127.0.0.1:0\ntoken = %s\n"
	    "[database]\npath = %s/fuzz.db\n[log]\nlevel = error\n",
	    FUZZ_SECRET, FUZZ_ADMIN_TOKEN, dir);
	if (config_load_string("fuzz.conf", text, &fuzz_admin_cfg, &errors) != TS_OK) {
		fprintf(stderr, "fuzz_admin: config: %s\n", errors);
		abort();
	}
	log_set_level(LOG_LEVEL_ERROR);
	if (db_open(fuzz_admin_cfg->db_path, &db, NULL) != TS_OK ||
	    migrate_apply(db, migrate_embedded, migrate_embedded_count, NULL,
	    NULL, NULL) != TS_OK)
		abort();
	/*
	 * No import threads: an input may POST /v1/import, and the replaying
	 * process exits after each input without stopping the listener.
	 */
	if (db_kv_set(db, "feature.woo.import", "off") != TS_OK)
		abort();
	db_close(db);
	if (queue_open(fuzz_admin_cfg->db_path, NULL, NULL, &fuzz_admin_queue) != TS_OK)
		abort();
	opt.cfg = fuzz_admin_cfg;
	opt.queue = fuzz_admin_queue;
	opt.threads = 2;
	opt.max_body_bytes = 1 << 20;
	if (admin_api_start(&opt, &fuzz_admin_api, NULL) != TS_OK)
		abort();
	fuzz_admin_port = admin_api_port(fuzz_admin_api);
}

/* Append s[0..n) to the request, percent-encoding what is not safe. */
static size_t
fuzz_admin_encode(char *out, size_t at, size_t cap, const uint8_t *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n && at + 4 < cap; i++) {
		uint8_t c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("/?&=._~-,", c) != NULL) {
			out[at++] = (char)c;
		} else {
			out[at++] = '%';
			out[at++] = hex[c >> 4];
			out[at++] = hex[c & 15];
		}
	}
	return at;
}

int
fuzz_admin(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH",
		"DELETE", "HEAD", "OPTIONS", "PURGE" };
	const uint8_t *p, *end = data + size, *nl;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { 10, 0 };
	size_t cap, at = 0, body_len;
	char *req, resp[64], sink[4096];
	unsigned flags;
	ssize_t got = 0, r;
	int fd;

	if (size < 1)
		return 0;
	fuzz_admin_init();
	flags = data[0];
	p = data + 1;
	cap = size * 3 + 512;
	if ((req = malloc(cap)) == NULL)
		abort();
	at = (size_t)snprintf(req, cap, "%s ", methods[flags & 7]);
	nl = memchr(p, '\n', (size_t)(end - p));
	if (p >= end || *p != '/')
		req[at++] = '/';
	at = fuzz_admin_encode(req, at, cap, p, (size_t)((nl ? nl : end) - p));
	p = nl ? nl + 1 : end;
	at += (size_t)snprintf(req + at, cap - at, " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Connection: close\r\nContent-Type: application/json\r\n");
	if (flags & 0x08)
		at += (size_t)snprintf(req + at, cap - at,
		    "Authorization: Bearer " FUZZ_ADMIN_TOKEN "\r\n");
	else if (flags & 0x10)
		at += (size_t)snprintf(req + at, cap - at,
		    "Authorization: Bearer not-the-token\r\n");
	nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
	if (flags & 0x20) {
		/* Header bytes as sent, but no line break inside one. */
		at += (size_t)snprintf(req + at, cap - at, "X-Tracksies-Actor: ");
		for (const uint8_t *q = p; q < (nl ? nl : end) && at + 4 < cap; q++)
			req[at++] = *q == '\r' || *q == '\n' || *q == '\0' ? '_' : (char)*q;
		at += (size_t)snprintf(req + at, cap - at, "\r\n");
	}
	p = nl ? nl + 1 : p;
	body_len = (size_t)(end - p);
	at += (size_t)snprintf(req + at, cap - at, "Content-Length: %zu\r\n\r\n", body_len);
	if (at + body_len > cap)
		abort();
	memcpy(req + at, p, body_len);
	at += body_len;

	sa.sin_port = htons(fuzz_admin_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/*
	 * libFuzzer's SIGALRM (its -timeout watch) interrupts system calls
	 * without SA_RESTART: an interrupted connect starts over on a new
	 * socket, an interrupted send or recv is repeated.
	 */
	for (;;) {
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			abort();
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		if (errno != EINTR) {
			fprintf(stderr, "fuzz_admin: connect to 127.0.0.1:%u: %s\n",
			    (unsigned)fuzz_admin_port, strerror(errno));
			abort();
		}
		close(fd);
	}
	for (size_t sent = 0; sent < at; ) {
		ssize_t w = send(fd, req + sent, at - sent, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;		/* the server may answer early (413) and close */
		sent += (size_t)w;
	}
	/*
	 * Read the answer to its end (the handler has run and returned); the
	 * status line stays in resp, the rest goes to sink.
	 */
	while ((r = recv(fd, got < (ssize_t)sizeof(resp) ? resp + got : sink,
	    got < (ssize_t)sizeof(resp) ? sizeof(resp) - (size_t)got : sizeof(sink),
	    0)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		got += r;
	}
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		fprintf(stderr, "fuzz_admin: no complete answer in 10 s\n");
		abort();
	}
	/* FUZZ_ADMIN_ECHO=1 shows each answer's status line (reproducers). */
	if (getenv("FUZZ_ADMIN_ECHO") != NULL) {
		size_t n = got < (ssize_t)sizeof(resp) ? (size_t)got : sizeof(resp);
		const char *cr = memchr(resp, '\r', n);

		fprintf(stderr, "fuzz_admin: %.*s -> %.*s\n",
		    (int)strcspn(req, "\r"), req,
		    (int)(cr != NULL ? (size_t)(cr - resp) : n), resp);
	}
	/* An answer, and never a 500: that is a handler that lost its way. */
	if (got >= 12 && strncmp(resp, "HTTP/1.1 500", 12) == 0) {
		fprintf(stderr, "fuzz_admin: 500 for %.*s\n", (int)(at < 200 ? at : 200), req);
		abort();
	}
	close(fd);
	free(req);
	return 0;
}

#ifndef FUZZ_REPLAY
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_admin_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_admin(data, size);
}
#endif
