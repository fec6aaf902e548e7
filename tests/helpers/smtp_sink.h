/* SPDX-License-Identifier: MIT */
/*
 * A tiny SMTP server for tests: one thread on 127.0.0.1, one session at a
 * time, EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT. It keeps every
 * message it accepted (envelope and data, dot-unstuffed) and every command
 * line it saw, so tests can check what was sent and what was not (AUTH).
 * No TLS: it never offers STARTTLS.
 */
#ifndef SMTP_SINK_H
#define SMTP_SINK_H

#include <stddef.h>
#include <stdint.h>

struct smtp_sink;

/*
 * Listen on 127.0.0.1:port (0: any free port) and serve in a thread.
 * offer_auth: also advertise "AUTH PLAIN LOGIN" in the EHLO answer.
 * NULL when the port cannot be bound.
 */
struct smtp_sink *smtp_sink_start(uint16_t port, int offer_auth);
uint16_t smtp_sink_port(const struct smtp_sink *s);
/* Stop the thread, close the socket, free everything. NULL is a no-op. */
void smtp_sink_stop(struct smtp_sink *s);

/* Messages accepted so far. */
int smtp_sink_count(struct smtp_sink *s);
/* Message i: "MAIL FROM:<...>\nRCPT TO:<...>\n...\n\n" then the data. Owned. */
char *smtp_sink_message(struct smtp_sink *s, int i);
/* Whether any command line seen so far starts with prefix (e.g. "AUTH"). */
int smtp_sink_saw(struct smtp_sink *s, const char *prefix);

#endif
