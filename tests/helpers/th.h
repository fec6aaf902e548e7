/* SPDX-License-Identifier: MIT */
/*
 * Test helpers: temp dirs, a real tracksiesd process started on
 * 127.0.0.1:0 with its port read back from its log, an HTTP client on
 * libcurl, webhook signatures computed with OpenSSL directly (never hmac.c),
 * fixture files and database look-ups.
 */
#ifndef TH_H
#define TH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TH_SECRET "realwc-webhook-secret-0123456789"
#define TH_TOKEN "test-admin-token-0123456789abcdef"

/*
 * TS_TEST_TIME_FACTOR (default 1, never less): how many times slower than
 * native the processes under test run, e.g. 20 under valgrind
 * (scripts/valgrind.sh). Every wait for the daemon below is scaled by it;
 * th_scaled_ms() scales a test's own.
 */
double th_time_factor(void);
long th_scaled_ms(long ms);
/* Sleep ms times the time factor: a wait for something the daemon does. */
void th_nap_ms(long ms);

/*
 * In a forked child: become the daemon binary with argv's arguments
 * (argv[0] is ignored, argv is NULL-terminated). With TS_DAEMON_WRAPPER
 * set, its space-separated words run first and are given the binary, e.g.
 * "valgrind --error-exitcode=99 --log-file=/tmp/vg.%p". Never returns.
 */
void th_exec_daemon(const char *const argv[]) __attribute__((noreturn));

/* A fresh directory under $TMPDIR; abort()s on failure. Free with th_rmrf. */
char *th_tmpdir(void);
void th_rmrf(char *dir);

/* Read a file whole (NUL-terminated); abort()s on failure. */
char *th_read_file(const char *path, size_t *len);
/* Read tests/fixtures/<rel>. */
char *th_fixture(const char *rel, size_t *len);
/* Write text to path; abort()s on failure. */
void th_write_file(const char *path, const char *text);

/* base64(HMAC-SHA256(body, secret)) into out[45], via OpenSSL. */
void th_sign(const char *secret, const char *body, size_t len, char out[45]);

/*
 * Write <dir>/tracksiesd.conf: listeners on 127.0.0.1:0, database in dir,
 * test secrets, log level debug. overrides (may be NULL) holds lines
 * "section.key = value" that replace or add keys. Returns the path (owned).
 */
char *th_write_config(const char *dir, const char *overrides);

/* True when the file at path contains needle. */
int th_file_contains(const char *path, const char *needle);

struct th_daemon {
	pid_t pid;
	char log_path[512];
	char db_path[512];
	uint16_t webhook_port;
};

/*
 * Start TS_DAEMON_PATH --config config_path with stderr to <dir>/daemon.log
 * and wait until it logs its webhook port. 0 on success, -1 when it exited
 * or did not get ready in 15 s (times the time factor).
 */
int th_daemon_start(const char *dir, const char *config_path,
    struct th_daemon *d);
/* SIGTERM and wait: the exit status (or 128+signal). */
int th_daemon_stop(struct th_daemon *d);
/* SIGKILL and reap. */
void th_daemon_kill9(struct th_daemon *d);

/* Run the daemon binary with args, wait; exit status; stderr to *err. */
int th_run(const char *const argv[], char **err);
/* The same, with stdout to *out (owned) instead of /dev/null. */
int th_run_out(const char *const argv[], char **out, char **err);

/* A response. */
struct th_resp {
	long status;
	char *body;
	char *headers;
};
void th_resp_free(struct th_resp *r);

/*
 * Request http://127.0.0.1:port path with method, headers (NULL-terminated
 * "Name: value" list, may be NULL) and body (may be NULL). 0 on success.
 */
int th_http(uint16_t port, const char *method, const char *path,
    const char *const headers[], const char *body, size_t body_len,
    struct th_resp *out);

/*
 * POST a webhook delivery as WooCommerce sends one: every X-WC-* header,
 * signed with secret (NULL: unsigned).
 */
int th_post_webhook(uint16_t port, const char *topic, const char *delivery_id,
    const char *body, size_t len, const char *secret, struct th_resp *out);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
uint16_t th_free_port(void);

/*
 * Poll the database until sql returns want, for up to timeout_ms (times
 * the time factor); returns the last value seen.
 */
long long th_db_wait(const char *db_path, const char *sql, long long want,
    long timeout_ms);

/* One integer from a query on the database file (opened read-only). */
long long th_db_int(const char *db_path, const char *sql);

#endif
