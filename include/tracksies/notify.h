/* SPDX-License-Identifier: MIT */
/*
 * The service manager's notification protocol (sd_notify(3)) without
 * libsystemd: one datagram of "KEY=VALUE\n" lines to the AF_UNIX socket named
 * by $NOTIFY_SOCKET, and the watchdog interval from $WATCHDOG_USEC. Outside
 * systemd (the variable unset) every call is a successful no-op. Never logs:
 * the caller decides whether a failure is worth a line.
 *
 * Thread safety: every function reads the environment with getenv(), so any
 * thread may call them as long as no thread changes the environment.
 */
#ifndef TRACKSIES_NOTIFY_H
#define TRACKSIES_NOTIFY_H

#include <stdint.h>

#include "tracksies/rc.h"

/* Longest STATUS= text sent, in bytes; longer text is cut (see notify_status). */
#define NOTIFY_STATUS_MAX 512

/*
 * Send state, one or more "KEY=VALUE" lines separated by '\n' (borrowed), as
 * one datagram to $NOTIFY_SOCKET: a filesystem path ("/run/systemd/notify")
 * or an abstract socket ("@name", the '@' standing for the leading NUL).
 * TS_OK when sent, or when $NOTIFY_SOCKET is unset (not under systemd).
 * TS_ERR_INVALID: state is NULL or empty, or $NOTIFY_SOCKET is empty, not
 * "/..." or "@...", or too long for sun_path (vsock: addresses, systemd >= 254,
 * are not supported). TS_ERR_TRANSIENT: the receiver's queue stayed full for
 * the send timeout (about 2 s). TS_ERR_IO: any other socket error, including a
 * socket that does not exist or refuses us. Any thread.
 */
enum ts_rc notify_send(const char *state);

/* "READY=1": start-up is done and the listeners accept. Any thread. */
enum ts_rc notify_ready(void);

/*
 * "RELOADING=1": a configuration reload started; send notify_ready() when
 * it is over (whether or not the new file was accepted). Any thread.
 */
enum ts_rc notify_reloading(void);

/* "STOPPING=1": shutdown started. Any thread. */
enum ts_rc notify_stopping(void);

/* "WATCHDOG=1": the service is alive; see notify_watchdog_usec. Any thread. */
enum ts_rc notify_watchdog(void);

/*
 * "STATUS=<text>", the one-line state `systemctl status` shows. text is
 * formatted like printf. Newlines (which would start a new assignment) become
 * spaces, and text longer than NOTIFY_STATUS_MAX bytes is cut at a UTF-8
 * character boundary (systemd drops a STATUS that is not valid UTF-8).
 * Returns what notify_send returns. Any thread.
 */
enum ts_rc notify_status(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/*
 * The watchdog interval systemd expects WATCHDOG=1 within (WatchdogSec=),
 * from $WATCHDOG_USEC, in microseconds; ping at half of it. When
 * $WATCHDOG_PID is set it must equal getpid(): otherwise the watchdog is meant
 * for another process (a parent that exec'd us without clearing it).
 * TS_OK with *usec > 0: the watchdog is on. TS_ERR_NOTFOUND with *usec = 0:
 * it is off (unset, or WATCHDOG_PID names another process). TS_ERR_INVALID
 * with *usec = 0: either variable is not a positive decimal number that fits.
 * Any thread.
 */
enum ts_rc notify_watchdog_usec(uint64_t *usec);

#endif
