/* SPDX-License-Identifier: MIT */
/* Test helpers: see th.h. They abort() on set-up failures (a test bug). */
#define _XOPEN_SOURCE 700	/* nftw */
#include "th.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>

double
th_time_factor(void)
{
	const char *v = getenv("TS_TEST_TIME_FACTOR");
	double f = v != NULL ? strtod(v, NULL) : 1.0;

	return f >= 1.0 ? f : 1.0;
}

long
th_scaled_ms(long ms)
{
	return (long)((double)ms * th_time_factor());
}

void
th_nap_ms(long ms)
{
	long scaled = th_scaled_ms(ms);
	struct timespec ts = { scaled / 1000, (scaled % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void
th_exec_daemon(const char *const argv[])
{
	const char *wrapper = getenv("TS_DAEMON_WRAPPER");
	const char *args[64];
	char *words = NULL, *save = NULL;
	size_t n = 0;

	if (wrapper != NULL && *wrapper != '\0' && (words = strdup(wrapper)) != NULL)
		for (char *w = strtok_r(words, " ", &save); w != NULL && n < 32;
		    w = strtok_r(NULL, " ", &save))
			args[n++] = w;
	args[n++] = TS_DAEMON_PATH;
	for (size_t i = 1; argv[i] != NULL && n < 63; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	execvp(args[0], (char *const *)args);
	_exit(127);
}

char *
th_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *dir;

	if (base == NULL)
		base = "/tmp";
	if ((dir = malloc(strlen(base) + 32)) == NULL)
		abort();
	sprintf(dir, "%s/tracksies-test-XXXXXX", base);
	if (mkdtemp(dir) == NULL)
		abort();
	return dir;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
th_rmrf(char *dir)
{
	if (dir == NULL)
		return;
	if (getenv("TH_KEEP") == NULL)
		(void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

char *
th_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	if (f == NULL) {
		fprintf(stderr, "th_read_file: %s: %s\n", path, strerror(errno));
		abort();
	}
	do {
		if (n + 4096 + 1 > cap) {
			cap = (cap ? cap * 2 : 8192);
			if ((buf = realloc(buf, cap)) == NULL)
				abort();
		}
		got = fread(buf + n, 1, 4096, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

int
th_file_contains(const char *path, const char *needle)
{
	char *text = th_read_file(path, NULL);
	int found = strstr(text, needle) != NULL;

	free(text);
	return found;
}

char *
th_fixture(const char *rel, size_t *len)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", TS_FIXTURES_DIR, rel);
	return th_read_file(path, len);
}

void
th_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

void
th_sign(const char *secret, const char *body, size_t len, char out[45])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)body, len, md, &md_len) == NULL)
		abort();
	EVP_EncodeBlock((unsigned char *)out, md, (int)md_len);
}

/* The test configuration, as section, key, value. */
struct kv {
	char section[32];
	char key[64];
	char value[512];
};

static int
set_kv(struct kv *kv, int n, const char *section, const char *key,
    const char *value)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(kv[i].section, section) == 0 && strcmp(kv[i].key, key) == 0)
			break;
	snprintf(kv[i].section, sizeof(kv[i].section), "%s", section);
	snprintf(kv[i].key, sizeof(kv[i].key), "%s", key);
	snprintf(kv[i].value, sizeof(kv[i].value), "%s", value);
	return i == n ? n + 1 : n;
}

char *
th_write_config(const char *dir, const char *overrides)
{
	static const char *const sections[] = { "store", "webhook", "admin",
		"database", "reconcile", "smtp", "tags", "log" };
	struct kv kv[64];
	char *path = malloc(strlen(dir) + 32);
	char db[600], text[8192], line[700];
	size_t used = 0;
	int n = 0;

	if (path == NULL)
		abort();
	sprintf(path, "%s/tracksiesd.conf", dir);
	snprintf(db, sizeof(db), "%s/tracksies.db", dir);
	n = set_kv(kv, n, "store", "url", "http://127.0.0.1:9");
	n = set_kv(kv, n, "store", "consumer_key", "ck_test");
	n = set_kv(kv, n, "store", "consumer_secret", "cs_test");
	n = set_kv(kv, n, "webhook", "listen", "127.0.0.1:0");
	n = set_kv(kv, n, "webhook", "secret", TH_SECRET);
	n = set_kv(kv, n, "admin", "listen", "127.0.0.1:0");
	n = set_kv(kv, n, "admin", "token", TH_TOKEN);
	n = set_kv(kv, n, "database", "path", db);
	n = set_kv(kv, n, "log", "level", "debug");
	for (const char *p = overrides; p != NULL && *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *dot, *eq;

		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		p += len + (nl != NULL);
		if ((dot = strchr(line, '.')) == NULL || (eq = strchr(line, '=')) == NULL)
			abort();
		*dot = '\0';
		*eq = '\0';
		for (char *e = eq - 1; e > dot && *e == ' '; e--)
			*e = '\0';
		eq++;
		while (*eq == ' ')
			eq++;
		n = set_kv(kv, n, line, dot + 1, eq);
	}
	for (size_t s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
		int header = 0;
		for (int i = 0; i < n; i++) {
			if (strcmp(kv[i].section, sections[s]) != 0)
				continue;
			if (!header++)
				used += (size_t)snprintf(text + used, sizeof(text) - used,
				    "[%s]\n", sections[s]);
			used += (size_t)snprintf(text + used, sizeof(text) - used,
			    "%s = %s\n", kv[i].key, kv[i].value);
		}
	}
	th_write_file(path, text);
	return path;
}

static uint16_t
port_from_log(const char *log_path)
{
	FILE *f = fopen(log_path, "r");
	char line[2048];
	uint16_t port = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p = strstr(line, "webhook: listening ");
		/* The log is appended to across restarts: the last one wins. */
		if (p != NULL && (p = strstr(p, " port=")) != NULL)
			port = (uint16_t)atoi(p + 6);
	}
	fclose(f);
	return port;
}

int
th_daemon_start(const char *dir, const char *config_path, struct th_daemon *d)
{
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	int status;

	memset(d, 0, sizeof(*d));
	snprintf(d->log_path, sizeof(d->log_path), "%s/daemon.log", dir);
	snprintf(d->db_path, sizeof(d->db_path), "%s/tracksies.db", dir);
	fflush(NULL);
	if (access(d->log_path, F_OK) == 0) {
		/* A restart: wait for a listening line newer than the old ones. */
		int fd = open(d->log_path, O_WRONLY | O_TRUNC);
		if (fd >= 0)
			close(fd);
	}
	if ((d->pid = fork()) < 0)
		abort();
	if (d->pid == 0) {
		int fd = open(d->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(126);
		const char *argv[] = { TS_DAEMON_PATH, "--config", config_path,
			NULL };
		th_exec_daemon(argv);
	}
	for (long i = 0; i < th_scaled_ms(15000) / 20; i++) {
		if ((d->webhook_port = port_from_log(d->log_path)) != 0)
			return 0;
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			return -1;
		}
		nanosleep(&nap, NULL);
	}
	th_daemon_kill9(d);
	return -1;
}

static int
reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int
th_daemon_stop(struct th_daemon *d)
{
	int rc;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	rc = reap(d->pid);
	d->pid = 0;
	return rc;
}

void
th_daemon_kill9(struct th_daemon *d)
{
	if (d->pid <= 0)
		return;
	kill(d->pid, SIGKILL);
	(void)reap(d->pid);
	d->pid = 0;
}

int
th_run(const char *const argv[], char **err)
{
	return th_run_out(argv, NULL, err);
}

int
th_run_out(const char *const argv[], char **out, char **err)
{
	char path[] = "/tmp/tracksies-run-XXXXXX";
	char opath[] = "/tmp/tracksies-out-XXXXXX";
	int fd = mkstemp(path), ofd = out != NULL ? mkstemp(opath) : -1;
	pid_t pid;
	int rc;

	if (fd < 0 || (out != NULL && ofd < 0))
		abort();
	fflush(NULL);
	if ((pid = fork()) < 0)
		abort();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(fd, STDERR_FILENO);
		if (ofd >= 0)
			dup2(ofd, STDOUT_FILENO);
		else if (devnull >= 0)
			dup2(devnull, STDOUT_FILENO);
		th_exec_daemon(argv);
	}
	close(fd);
	rc = reap(pid);
	if (err != NULL)
		*err = th_read_file(path, NULL);
	unlink(path);
	if (out != NULL) {
		close(ofd);
		*out = th_read_file(opath, NULL);
		unlink(opath);
	}
	return rc;
}

void
th_resp_free(struct th_resp *r)
{
	free(r->body);
	free(r->headers);
	r->body = r->headers = NULL;
}

struct buf {
	char *data;
	size_t len;
};

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct buf *b = userdata;
	size_t n = size * nmemb;

	if ((b->data = realloc(b->data, b->len + n + 1)) == NULL)
		abort();
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

int
th_http(uint16_t port, const char *method, const char *path,
    const char *const headers[], const char *body, size_t body_len,
    struct th_resp *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct buf b = { 0 }, h = { 0 };
	char url[1024];
	CURLcode cc;

	memset(out, 0, sizeof(*out));
	if (c == NULL)
		abort();
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, th_scaled_ms(30000));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	/* WooCommerce never sends Expect: 100-continue. */
	hl = curl_slist_append(hl, "Expect:");
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		hl = curl_slist_append(hl, headers[i]);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	} else if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	out->body = b.data != NULL ? b.data : strdup("");
	out->headers = h.data != NULL ? h.data : strdup("");
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return cc == CURLE_OK ? 0 : -1;
}

int
th_post_webhook(uint16_t port, const char *topic, const char *delivery_id,
    const char *body, size_t len, const char *secret, struct th_resp *out)
{
	char sig[45], h_topic[128], h_res[128], h_ev[128], h_sig[128], h_del[128];
	const char *dot = strchr(topic, '.');
	const char *headers[12];
	int n = 0;

	snprintf(h_topic, sizeof(h_topic), "X-WC-Webhook-Topic: %s", topic);
	snprintf(h_res, sizeof(h_res), "X-WC-Webhook-Resource: %.*s",
	    dot ? (int)(dot - topic) : (int)strlen(topic), topic);
	snprintf(h_ev, sizeof(h_ev), "X-WC-Webhook-Event: %s", dot ? dot + 1 : "");
	snprintf(h_del, sizeof(h_del), "X-WC-Webhook-Delivery-ID: %s", delivery_id);
	headers[n++] = "User-Agent: WooCommerce/8.4.0 Hookshot (WordPress/6.4.2)";
	headers[n++] = "Content-Type: application/json";
	headers[n++] = "X-WC-Webhook-Source: http://127.0.0.1:8765/";
	headers[n++] = h_topic;
	headers[n++] = h_res;
	headers[n++] = h_ev;
	if (secret != NULL) {
		th_sign(secret, body, len, sig);
		snprintf(h_sig, sizeof(h_sig), "X-WC-Webhook-Signature: %s", sig);
		headers[n++] = h_sig;
	}
	headers[n++] = "X-WC-Webhook-ID: 2";
	headers[n++] = h_del;
	headers[n] = NULL;
	return th_http(port, "POST", "/webhooks/woocommerce", headers, body, len,
	    out);
}

uint16_t
th_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	if (port == 0)
		abort();
	return port;
}

long long
th_db_wait(const char *db_path, const char *sql, long long want, long timeout_ms)
{
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	long long v = -1;

	timeout_ms = th_scaled_ms(timeout_ms);
	for (long waited = 0; waited <= timeout_ms; waited += 50) {
		if ((v = th_db_int(db_path, sql)) == want)
			break;
		nanosleep(&nap, NULL);
	}
	return v;
}

long long
th_db_int(const char *db_path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}
