/* SPDX-License-Identifier: MIT */
/*
 * notify.c: real AF_UNIX datagram sockets (a path in a temp dir and an
 * abstract name) stand in for systemd's, and each test asserts the exact
 * bytes and the sender pid systemd would see.
 *
 * _GNU_SOURCE: struct ucred and SCM_CREDENTIALS, which the receiving side
 * uses to check the sender pid (what NotifyAccess=main compares), are
 * glibc extensions. The code under test needs neither.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "th.h"
#include "tracksies/notify.h"

static char *dir;
static int rx = -1;		/* the receiving socket, standing in for PID 1 */

static void
setup(void)
{
	dir = th_tmpdir();
	(void)unsetenv("NOTIFY_SOCKET");
	(void)unsetenv("WATCHDOG_USEC");
	(void)unsetenv("WATCHDOG_PID");
}

static void
teardown(void)
{
	if (rx >= 0)
		(void)close(rx);
	rx = -1;
	(void)unsetenv("NOTIFY_SOCKET");
	(void)unsetenv("WATCHDOG_USEC");
	(void)unsetenv("WATCHDOG_PID");
	th_rmrf(dir);
	dir = NULL;
}

/* Bind rx to name ("/path" or "@abstract") and point NOTIFY_SOCKET at it. */
static void
listen_on(const char *name)
{
	struct sockaddr_un sa;
	struct timeval tv = { .tv_sec = 5, .tv_usec = 0 };
	socklen_t len;
	int on = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(name), sizeof(sa.sun_path));
	memcpy(sa.sun_path, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	rx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(rx, 0);
	ck_assert_int_eq(bind(rx, (struct sockaddr *)&sa, len), 0);
	/* systemd turns this on so the kernel attaches the sender's pid. */
	ck_assert_int_eq(setsockopt(rx, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)), 0);
	ck_assert_int_eq(setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", name, 1), 0);
}

/* Receive one datagram into buf (NUL-terminated); check the sender pid. */
static size_t
receive(char *buf, size_t cap)
{
	union {
		struct cmsghdr hdr;
		char space[CMSG_SPACE(sizeof(struct ucred))];
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = cap - 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = &control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *c;
	struct ucred cred;
	ssize_t n;

	n = recvmsg(rx, &msg, 0);
	ck_assert_msg(n >= 0, "recvmsg: %s", strerror(errno));
	ck_assert_msg(!(msg.msg_flags & MSG_TRUNC), "datagram truncated");
	buf[n] = '\0';
	c = CMSG_FIRSTHDR(&msg);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->cmsg_type, SCM_CREDENTIALS);
	memcpy(&cred, CMSG_DATA(c), sizeof(cred));
	ck_assert_int_eq(cred.pid, getpid());
	return (size_t)n;
}

/* Nothing more is waiting on rx. */
static void
assert_queue_empty(void)
{
	char buf[16];

	ck_assert_int_lt(recv(rx, buf, sizeof(buf), MSG_DONTWAIT), 0);
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
}

static void
assert_lifecycle_bytes(void)
{
	char buf[1024];

	ck_assert_int_eq(notify_ready(), TS_OK);
	ck_assert_uint_eq(receive(buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "READY=1");
	ck_assert_int_eq(notify_status("queue=%d in_progress=%d last_sync=%s",
	    3, 1, "2025-11-23T05:01:02Z"), TS_OK);
	receive(buf, sizeof(buf));
	ck_assert_str_eq(buf,
	    "STATUS=queue=3 in_progress=1 last_sync=2025-11-23T05:01:02Z");
	ck_assert_int_eq(notify_watchdog(), TS_OK);
	receive(buf, sizeof(buf));
	ck_assert_str_eq(buf, "WATCHDOG=1");
	ck_assert_int_eq(notify_reloading(), TS_OK);
	receive(buf, sizeof(buf));
	ck_assert_str_eq(buf, "RELOADING=1");
	ck_assert_int_eq(notify_stopping(), TS_OK);
	receive(buf, sizeof(buf));
	ck_assert_str_eq(buf, "STOPPING=1");
	ck_assert_int_eq(notify_send("READY=1\nSTATUS=two lines"), TS_OK);
	receive(buf, sizeof(buf));
	ck_assert_str_eq(buf, "READY=1\nSTATUS=two lines");
	assert_queue_empty();
}

START_TEST(unset_socket_is_a_quiet_success)
{
	ck_assert_int_eq(notify_ready(), TS_OK);
	ck_assert_int_eq(notify_status("queue=%d", 1), TS_OK);
	ck_assert_int_eq(notify_watchdog(), TS_OK);
	ck_assert_int_eq(notify_stopping(), TS_OK);
}
END_TEST

START_TEST(path_socket_receives_exact_bytes)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/notify", dir);
	listen_on(path);
	assert_lifecycle_bytes();
}
END_TEST

START_TEST(abstract_socket_receives_exact_bytes)
{
	char name[108];

	/* Unique per process: abstract names live in the network namespace. */
	snprintf(name, sizeof(name), "@tracksies-check-notify-%ld", (long)getpid());
	listen_on(name);
	assert_lifecycle_bytes();
}
END_TEST

START_TEST(status_newlines_cannot_inject_assignments)
{
	char path[512], buf[1024];

	snprintf(path, sizeof(path), "%s/notify", dir);
	listen_on(path);
	ck_assert_int_eq(notify_status("ok\nREADY=1\n%s", "x"), TS_OK);
	receive(buf, sizeof(buf));
	ck_assert_str_eq(buf, "STATUS=ok READY=1 x");
}
END_TEST

START_TEST(long_status_is_cut_at_a_character_boundary)
{
	char path[512], buf[2048], text[NOTIFY_STATUS_MAX + 64];
	size_t n;

	snprintf(path, sizeof(path), "%s/notify", dir);
	listen_on(path);

	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	ck_assert_int_eq(notify_status("%s", text), TS_OK);
	n = receive(buf, sizeof(buf));
	ck_assert_uint_eq(n, strlen("STATUS=") + NOTIFY_STATUS_MAX);

	/* "é" (C3 A9) straddling the cap is dropped whole, never half sent. */
	memset(text, 'a', NOTIFY_STATUS_MAX - 1);
	strcpy(text + NOTIFY_STATUS_MAX - 1, "\xc3\xa9tail");
	ck_assert_int_eq(notify_status("%s", text), TS_OK);
	n = receive(buf, sizeof(buf));
	ck_assert_uint_eq(n, strlen("STATUS=") + NOTIFY_STATUS_MAX - 1);
	ck_assert_int_eq(buf[n - 1], 'a');

	/* A 4-byte character that fits ends the text intact. */
	memset(text, 'a', NOTIFY_STATUS_MAX - 4);
	strcpy(text + NOTIFY_STATUS_MAX - 4, "\xf0\x9f\x93\xa6more");
	ck_assert_int_eq(notify_status("%s", text), TS_OK);
	n = receive(buf, sizeof(buf));
	ck_assert_uint_eq(n, strlen("STATUS=") + NOTIFY_STATUS_MAX);
	ck_assert_str_eq(buf + n - 4, "\xf0\x9f\x93\xa6");
}
END_TEST

START_TEST(bad_socket_names_are_invalid)
{
	char longname[200];

	ck_assert_int_eq(notify_send(NULL), TS_ERR_INVALID);
	ck_assert_int_eq(notify_send(""), TS_ERR_INVALID);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "", 1), 0);
	ck_assert_int_eq(notify_ready(), TS_ERR_INVALID);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "run/notify", 1), 0);
	ck_assert_int_eq(notify_ready(), TS_ERR_INVALID);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "@", 1), 0);
	ck_assert_int_eq(notify_ready(), TS_ERR_INVALID);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "vsock:2:1234", 1), 0);
	ck_assert_int_eq(notify_ready(), TS_ERR_INVALID);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", longname, 1), 0);
	ck_assert_int_eq(notify_ready(), TS_ERR_INVALID);
}
END_TEST

START_TEST(missing_socket_is_an_io_error)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/nobody-listens", dir);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", path, 1), 0);
	ck_assert_int_eq(notify_ready(), TS_ERR_IO);
}
END_TEST

START_TEST(full_receiver_times_out_instead_of_hanging)
{
	char path[512];
	enum ts_rc rc = TS_OK;
	int sent = 0;

	snprintf(path, sizeof(path), "%s/notify", dir);
	listen_on(path);
	/* Nobody reads: the kernel queues net.unix.max_dgram_qlen, then we block. */
	while (sent < 100000 && (rc = notify_watchdog()) == TS_OK)
		sent++;
	ck_assert_int_eq(rc, TS_ERR_TRANSIENT);
	ck_assert_int_gt(sent, 0);
}
END_TEST

START_TEST(watchdog_interval_comes_from_the_environment)
{
	char pid[32];
	uint64_t usec = 99;

	ck_assert_int_eq(notify_watchdog_usec(&usec), TS_ERR_NOTFOUND);
	ck_assert_uint_eq(usec, 0);

	ck_assert_int_eq(setenv("WATCHDOG_USEC", "30000000", 1), 0);
	ck_assert_int_eq(notify_watchdog_usec(&usec), TS_OK);
	ck_assert_uint_eq(usec, 30000000);

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	ck_assert_int_eq(setenv("WATCHDOG_PID", pid, 1), 0);
	ck_assert_int_eq(notify_watchdog_usec(&usec), TS_OK);
	ck_assert_uint_eq(usec, 30000000);

	ck_assert_int_eq(setenv("WATCHDOG_USEC", "18446744073709551615", 1), 0);
	ck_assert_int_eq(notify_watchdog_usec(&usec), TS_OK);
	ck_assert_uint_eq(usec, UINT64_MAX);
}
END_TEST

START_TEST(watchdog_for_another_pid_is_off)
{
	char pid[32];
	uint64_t usec = 99;

	ck_assert_int_eq(setenv("WATCHDOG_USEC", "30000000", 1), 0);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	ck_assert_int_eq(setenv("WATCHDOG_PID", pid, 1), 0);
	ck_assert_int_eq(notify_watchdog_usec(&usec), TS_ERR_NOTFOUND);
	ck_assert_uint_eq(usec, 0);
}
END_TEST

START_TEST(malformed_watchdog_values_are_invalid)
{
	static const char *const bad[] = {
		"", "0", "-5", "+5", " 5", "5 ", "5s", "abc", "0x10",
		"18446744073709551616", "99999999999999999999999",
	};
	uint64_t usec;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		usec = 99;
		ck_assert_int_eq(setenv("WATCHDOG_USEC", bad[i], 1), 0);
		ck_assert_msg(notify_watchdog_usec(&usec) == TS_ERR_INVALID,
		    "WATCHDOG_USEC=\"%s\" accepted", bad[i]);
		ck_assert_uint_eq(usec, 0);
	}
	ck_assert_int_eq(setenv("WATCHDOG_USEC", "30000000", 1), 0);
	ck_assert_int_eq(setenv("WATCHDOG_PID", "self", 1), 0);
	usec = 99;
	ck_assert_int_eq(notify_watchdog_usec(&usec), TS_ERR_INVALID);
	ck_assert_uint_eq(usec, 0);
}
END_TEST

static Suite *
notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *send = tcase_create("send");
	TCase *status = tcase_create("status");
	TCase *errors = tcase_create("errors");
	TCase *watchdog = tcase_create("watchdog");

	tcase_add_checked_fixture(send, setup, teardown);
	tcase_add_test(send, unset_socket_is_a_quiet_success);
	tcase_add_test(send, path_socket_receives_exact_bytes);
	tcase_add_test(send, abstract_socket_receives_exact_bytes);
	suite_add_tcase(s, send);

	tcase_add_checked_fixture(status, setup, teardown);
	tcase_add_test(status, status_newlines_cannot_inject_assignments);
	tcase_add_test(status, long_status_is_cut_at_a_character_boundary);
	suite_add_tcase(s, status);

	tcase_add_checked_fixture(errors, setup, teardown);
	tcase_add_test(errors, bad_socket_names_are_invalid);
	tcase_add_test(errors, missing_socket_is_an_io_error);
	tcase_add_test(errors, full_receiver_times_out_instead_of_hanging);
	tcase_set_timeout(errors, 30);
	suite_add_tcase(s, errors);

	tcase_add_checked_fixture(watchdog, setup, teardown);
	tcase_add_test(watchdog, watchdog_interval_comes_from_the_environment);
	tcase_add_test(watchdog, watchdog_for_another_pid_is_off);
	tcase_add_test(watchdog, malformed_watchdog_values_are_invalid);
	suite_add_tcase(s, watchdog);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(notify_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
