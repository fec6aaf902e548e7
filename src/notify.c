/* SPDX-License-Identifier: MIT */
/*
 * sd_notify without libsystemd: the documented datagram protocol (see
 * sd_notify(3), "Notes"), and the watchdog interval from the environment.
 * It owns no state: each message opens, sends on and closes its own socket,
 * which costs microseconds at the rate we notify (a few times a minute).
 * No logging here; callers decide.
 *
 * No feature macro beyond the project's _POSIX_C_SOURCE is needed: glibc
 * declares SOCK_CLOEXEC unconditionally (POSIX 2024 adopted it), and an
 * abstract address is only a sun_path that starts with a NUL byte.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "tracksies/notify.h"

/*
 * systemd gives its notify socket a large receive buffer, so a send only
 * blocks when PID 1 is stuck. Bound that wait: the main thread notifies
 * between sigtimedwait() calls and must not stop taking signals.
 */
#define SEND_TIMEOUT_S 2

/* Fill *sa from $NOTIFY_SOCKET's value; *len_out is the address length. */
static enum ts_rc
address_from(const char *name, struct sockaddr_un *sa, socklen_t *len_out)
{
	size_t len = strlen(name);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* "@" or "/" alone names nothing; systemd's reference code refuses it too. */
	if (len < 2 || (name[0] != '/' && name[0] != '@'))
		return TS_ERR_INVALID;
	if (name[0] == '@') {
		/*
		 * Abstract: the name is exactly len bytes after the NUL, with no
		 * terminator, so the length must not count one.
		 */
		if (len > sizeof(sa->sun_path))
			return TS_ERR_INVALID;
		memcpy(sa->sun_path + 1, name + 1, len - 1);
		*len_out = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
		return TS_OK;
	}
	if (len >= sizeof(sa->sun_path))	/* keep room for the NUL */
		return TS_ERR_INVALID;
	memcpy(sa->sun_path, name, len);
	*len_out = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	return TS_OK;
}

enum ts_rc
notify_send(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	struct timeval tv = { .tv_sec = SEND_TIMEOUT_S, .tv_usec = 0 };
	socklen_t sa_len = 0;
	size_t len;
	ssize_t n;
	enum ts_rc rc;
	int fd;

	if (state == NULL || (len = strlen(state)) == 0)
		return TS_ERR_INVALID;
	if (name == NULL)
		return TS_OK;
	if ((rc = address_from(name, &sa, &sa_len)) != TS_OK)
		return rc;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return errno == ENOMEM || errno == ENOBUFS ? TS_ERR_NOMEM : TS_ERR_IO;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	do
		n = sendto(fd, state, len, 0, (const struct sockaddr *)&sa, sa_len);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		rc = (size_t)n == len ? TS_OK : TS_ERR_IO;
	else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
		rc = TS_ERR_TRANSIENT;
	else
		rc = TS_ERR_IO;
	(void)close(fd);
	return rc;
}

enum ts_rc
notify_ready(void)
{
	return notify_send("READY=1");
}

enum ts_rc
notify_reloading(void)
{
	return notify_send("RELOADING=1");
}

enum ts_rc
notify_stopping(void)
{
	return notify_send("STOPPING=1");
}

enum ts_rc
notify_watchdog(void)
{
	return notify_send("WATCHDOG=1");
}

/*
 * Shorten s (len bytes) so that it does not end inside a UTF-8 sequence:
 * step back over up to three continuation bytes to the lead byte, and drop
 * the sequence if it has fewer bytes than its lead byte announces.
 */
static size_t
utf8_cut(const char *s, size_t len)
{
	size_t start = len, need;
	unsigned char lead;

	while (start > 0 && len - start < 3 &&
	    ((unsigned char)s[start - 1] & 0xC0) == 0x80)
		start--;
	if (start == 0)
		return len;
	lead = (unsigned char)s[start - 1];
	if (lead < 0xC0)		/* ASCII, or a stray continuation byte */
		return len;
	need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
	return len - (start - 1) < need ? start - 1 : len;
}

enum ts_rc
notify_status(const char *fmt, ...)
{
	static const char prefix[] = "STATUS=";
	char buf[sizeof(prefix) - 1 + NOTIFY_STATUS_MAX + 1];
	char *text = buf + sizeof(prefix) - 1;
	va_list ap;
	size_t len;
	int n;

	memcpy(buf, prefix, sizeof(prefix) - 1);
	va_start(ap, fmt);
	n = vsnprintf(text, NOTIFY_STATUS_MAX + 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return TS_ERR_INVALID;
	len = (size_t)n;
	if (len > NOTIFY_STATUS_MAX) {
		len = utf8_cut(text, NOTIFY_STATUS_MAX);
		text[len] = '\0';
	}
	for (char *p = text; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
	return notify_send(buf);
}

/* A positive decimal number with nothing around it, or -1. */
static int
parse_positive(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v == 0)
		return -1;
	*out = v;
	return 0;
}

enum ts_rc
notify_watchdog_usec(uint64_t *usec)
{
	const char *value = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	uint64_t v = 0, p = 0;

	*usec = 0;
	if (value == NULL)
		return TS_ERR_NOTFOUND;
	if (parse_positive(value, &v) != 0)
		return TS_ERR_INVALID;
	if (pid != NULL) {
		if (parse_positive(pid, &p) != 0)
			return TS_ERR_INVALID;
		if (p != (uint64_t)getpid())
			return TS_ERR_NOTFOUND;
	}
	*usec = v;
	return TS_OK;
}
