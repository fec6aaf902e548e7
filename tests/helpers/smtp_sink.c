/* SPDX-License-Identifier: MIT */
/* A tiny SMTP sink for tests: see smtp_sink.h. Aborts on set-up bugs. */
#include "smtp_sink.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define MAX_MESSAGES 64
#define MAX_LINE 4096

struct smtp_sink {
	int fd;
	uint16_t port;
	int offer_auth;
	atomic_bool stop;
	pthread_t thread;
	pthread_mutex_t lock;
	char *messages[MAX_MESSAGES];	/* guarded by lock */
	int n_messages;
	char *commands;			/* every command line, '\n'-separated */
	size_t commands_len;
};

struct conn {
	int fd;
	char buf[MAX_LINE * 2];
	size_t len;
};

static void
append(char **s, size_t *len, const char *text)
{
	size_t n = strlen(text);
	char *grown = realloc(*s, *len + n + 1);

	if (grown == NULL)
		abort();
	memcpy(grown + *len, text, n + 1);
	*s = grown;
	*len += n;
}

static int
say(int fd, const char *text)
{
	size_t n = strlen(text);

	return send(fd, text, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* One CRLF- (or LF-) terminated line into line[], without the ending. */
static int
read_line(struct smtp_sink *s, struct conn *c, char *line, size_t size)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		ssize_t r;

		if (nl != NULL) {
			size_t n = (size_t)(nl - c->buf);
			size_t keep = n > 0 && c->buf[n - 1] == '\r' ? n - 1 : n;

			if (keep >= size)
				keep = size - 1;
			memcpy(line, c->buf, keep);
			line[keep] = '\0';
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return 0;
		}
		if (c->len == sizeof(c->buf))
			return -1;
		if (atomic_load(&s->stop))
			return -1;
		if (poll(&p, 1, 100) <= 0)
			continue;
		if ((r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0)) <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

static void
session(struct smtp_sink *s, int fd)
{
	struct conn c = { .fd = fd };
	char line[MAX_LINE], *msg = NULL;
	size_t msg_len = 0;

	if (say(fd, "220 sink ESMTP ready\r\n") != 0)
		return;
	while (read_line(s, &c, line, sizeof(line)) == 0) {
		(void)pthread_mutex_lock(&s->lock);
		append(&s->commands, &s->commands_len, line);
		append(&s->commands, &s->commands_len, "\n");
		(void)pthread_mutex_unlock(&s->lock);
		if (strncasecmp(line, "EHLO", 4) == 0) {
			(void)say(fd, s->offer_auth ?
			    "250-sink\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n" :
			    "250-sink\r\n250 8BITMIME\r\n");
		} else if (strncasecmp(line, "HELO", 4) == 0 ||
		    strncasecmp(line, "NOOP", 4) == 0) {
			(void)say(fd, "250 ok\r\n");
		} else if (strncasecmp(line, "RSET", 4) == 0) {
			free(msg);
			msg = NULL;
			msg_len = 0;
			(void)say(fd, "250 ok\r\n");
		} else if (strncasecmp(line, "MAIL FROM:", 10) == 0 ||
		    strncasecmp(line, "RCPT TO:", 8) == 0) {
			append(&msg, &msg_len, line);
			append(&msg, &msg_len, "\n");
			(void)say(fd, "250 ok\r\n");
		} else if (strncasecmp(line, "DATA", 4) == 0) {
			(void)say(fd, "354 end with <CRLF>.<CRLF>\r\n");
			append(&msg, &msg_len, "\n");
			while (read_line(s, &c, line, sizeof(line)) == 0) {
				if (strcmp(line, ".") == 0)
					break;
				/* Dot-unstuffing (RFC 5321 4.5.2). */
				append(&msg, &msg_len, line[0] == '.' ? line + 1 : line);
				append(&msg, &msg_len, "\n");
			}
			(void)pthread_mutex_lock(&s->lock);
			if (s->n_messages < MAX_MESSAGES) {
				s->messages[s->n_messages++] = msg;
				msg = NULL;
			}
			(void)pthread_mutex_unlock(&s->lock);
			free(msg);
			msg = NULL;
			msg_len = 0;
			(void)say(fd, "250 queued\r\n");
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			(void)say(fd, "221 bye\r\n");
			break;
		} else if (strncasecmp(line, "AUTH", 4) == 0) {
			(void)say(fd, "235 accepted\r\n");
		} else {
			(void)say(fd, "502 not implemented\r\n");
		}
	}
	free(msg);
}

static void *
serve(void *arg)
{
	struct smtp_sink *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		int fd;

		if (poll(&p, 1, 100) <= 0)
			continue;
		if ((fd = accept(s->fd, NULL, NULL)) < 0)
			continue;
		session(s, fd);
		(void)close(fd);
	}
	return NULL;
}

struct smtp_sink *
smtp_sink_start(uint16_t port, int offer_auth)
{
	struct smtp_sink *s = calloc(1, sizeof(*s));
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int one = 1;

	if (s == NULL)
		abort();
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(port);
	if ((s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		abort();
	(void)setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(s->fd, 8) != 0 ||
	    getsockname(s->fd, (struct sockaddr *)&a, &alen) != 0) {
		(void)close(s->fd);
		free(s);
		return NULL;
	}
	s->port = ntohs(a.sin_port);
	s->offer_auth = offer_auth;
	(void)pthread_mutex_init(&s->lock, NULL);
	if (pthread_create(&s->thread, NULL, serve, s) != 0)
		abort();
	return s;
}

uint16_t
smtp_sink_port(const struct smtp_sink *s)
{
	return s->port;
}

void
smtp_sink_stop(struct smtp_sink *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->stop, true);
	(void)pthread_join(s->thread, NULL);
	(void)close(s->fd);
	for (int i = 0; i < s->n_messages; i++)
		free(s->messages[i]);
	free(s->commands);
	(void)pthread_mutex_destroy(&s->lock);
	free(s);
}

int
smtp_sink_count(struct smtp_sink *s)
{
	int n;

	(void)pthread_mutex_lock(&s->lock);
	n = s->n_messages;
	(void)pthread_mutex_unlock(&s->lock);
	return n;
}

char *
smtp_sink_message(struct smtp_sink *s, int i)
{
	char *copy = NULL;

	(void)pthread_mutex_lock(&s->lock);
	if (i >= 0 && i < s->n_messages && (copy = strdup(s->messages[i])) == NULL)
		abort();
	(void)pthread_mutex_unlock(&s->lock);
	return copy;
}

int
smtp_sink_saw(struct smtp_sink *s, const char *prefix)
{
	const char *p;
	int found = 0;
	size_t n = strlen(prefix);

	(void)pthread_mutex_lock(&s->lock);
	for (p = s->commands; p != NULL && *p != '\0' && !found;) {
		found = strncasecmp(p, prefix, n) == 0;
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
	(void)pthread_mutex_unlock(&s->lock);
	return found;
}
