/* SPDX-License-Identifier: MIT */
/*
 * Admin API test helpers: start the real tracksiesd (th_daemon_start) and
 * read the admin port back from its log, send authenticated JSON requests,
 * seed and inspect the SQLite file directly.
 */
#ifndef ADMIN_TH_H
#define ADMIN_TH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "th.h"

/*
 * Four customers (ids 1-4: active, vip, caution, do_not_serve), Emma (1)
 * with three orders, items, a refund, tags and sync rows; two tags; two
 * failed orders. Shared by the admin suites and docs/admin-api.yaml's
 * examples.
 */
extern const char admin_th_seed_sql[];

struct admin_th {
	char *dir;
	char *conf;
	struct th_daemon d;
	uint16_t port;		/* admin listener */
};

/*
 * Temp dir, config (overrides as for th_write_config), daemon started and
 * its admin port read from "admin: listening ... port=N". When seed_sql is
 * not NULL the database is migrated first (tracksiesd --customer) and
 * seed_sql run on it before the daemon starts. abort()s on failure.
 */
void admin_th_start(struct admin_th *a, const char *overrides,
    const char *seed_sql);
/* SIGTERM, wait, remove the temp dir (unless TH_KEEP is set). */
void admin_th_stop(struct admin_th *a);
/* Stop only (keeps the dir); the exit status. */
int admin_th_stop_daemon(struct admin_th *a);

/*
 * Request with the test token (token NULL: none; "" : the right one) and
 * actor (NULL: no header). The body is sent as JSON when not NULL.
 */
int admin_th_req(const struct admin_th *a, const char *method,
    const char *path, const char *body, const char *token, const char *actor,
    struct th_resp *out);

/*
 * The usual case: right token, actor "tester", JSON body (may be NULL).
 * Returns the parsed body (NULL when not JSON) and *status.
 */
json_t *admin_th_call(const struct admin_th *a, const char *method,
    const char *path, const char *body, long *status);

/* Run SQL on the database file (busy timeout 10 s); abort()s on error. */
void admin_th_sql(const char *db_path, const char *sql);

/* Read a whole file; NULL when it does not exist. */
char *admin_th_slurp(const char *path, size_t *len);

/* True when needle occurs anywhere in the bytes of the file. */
int admin_th_file_has(const char *path, const char *needle);

#endif
