/* SPDX-License-Identifier: MIT */
/*
 * Run tests/fakewc as a child process: argv from struct fakewc_opts, the
 * port read from the child's stdout, SIGTERM and waitpid to stop it, and a
 * libcurl client for its control API. See fakewc_ctl.h.
 */
#include "fakewc_ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <curl/curl.h>

#ifndef TS_FAKEWC_PATH
#error "TS_FAKEWC_PATH must name the fakewc binary (set by CMake)"
#endif

#define MAX_ARGS 64

static void
push(const char **argv, int *argc, const char *a, const char *b)
{
	if (*argc + 3 >= MAX_ARGS)
		return;
	argv[(*argc)++] = a;
	if (b != NULL)
		argv[(*argc)++] = b;
}

static int
reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* Read the "fakewc: listening port=N" line; 0 when none came in 15 s. */
static uint16_t
read_port(int fd)
{
	char line[256];
	size_t n = 0;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left_ms;
		ssize_t got;
		char *nl, *port;

		clock_gettime(CLOCK_MONOTONIC, &t);
		left_ms = 15000 - ((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left_ms <= 0 || poll(&p, 1, (int)left_ms) <= 0)
			return 0;
		got = read(fd, line + n, sizeof(line) - 1 - n);
		if (got <= 0)
			return 0;
		n += (size_t)got;
		line[n] = '\0';
		if ((nl = strchr(line, '\n')) == NULL) {
			if (n == sizeof(line) - 1)
				return 0;
			continue;
		}
		*nl = '\0';
		if ((port = strstr(line, "fakewc: listening port=")) == NULL)
			return 0;
		return (uint16_t)strtoul(port + 23, NULL, 10);
	}
}

enum ts_rc
fakewc_ctl_start(const struct fakewc_opts *opts, struct fakewc **out)
{
	static const struct fakewc_opts none;
	const char *argv[MAX_ARGS];
	char seed[32], orders[16], customers[16], workers[16], scale[32];
	struct fakewc *fw = NULL;
	int argc = 0, pfd[2] = { -1, -1 };
	enum ts_rc rc = TS_ERR_IO;

	*out = NULL;
	if (opts == NULL)
		opts = &none;
	if ((fw = calloc(1, sizeof(*fw))) == NULL)
		return TS_ERR_NOMEM;
	snprintf(fw->consumer_key, sizeof(fw->consumer_key), "%s",
	    opts->consumer_key ? opts->consumer_key : "ck_test");
	snprintf(fw->consumer_secret, sizeof(fw->consumer_secret), "%s",
	    opts->consumer_secret ? opts->consumer_secret : "cs_test");
	push(argv, &argc, TS_FAKEWC_PATH, NULL);
	push(argv, &argc, "--listen", "127.0.0.1:0");
	push(argv, &argc, "--consumer-key", fw->consumer_key);
	push(argv, &argc, "--consumer-secret", fw->consumer_secret);
	if (opts->webhook_url != NULL && opts->webhook_secret != NULL) {
		push(argv, &argc, "--webhook-url", opts->webhook_url);
		push(argv, &argc, "--webhook-secret", opts->webhook_secret);
	}
	if (opts->tls_cert != NULL && opts->tls_key != NULL) {
		push(argv, &argc, "--tls-cert", opts->tls_cert);
		push(argv, &argc, "--tls-key", opts->tls_key);
	}
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)(opts->seed ?
	    opts->seed : 1));
	push(argv, &argc, "--seed", seed);
	if (opts->orders != 0) {
		snprintf(orders, sizeof(orders), "%d", opts->orders < 0 ? 0 :
		    opts->orders);
		push(argv, &argc, "--orders", orders);
	}
	if (opts->customers != 0) {
		snprintf(customers, sizeof(customers), "%d",
		    opts->customers < 0 ? 0 : opts->customers);
		push(argv, &argc, "--customers", customers);
	}
	if (opts->anchor_date != NULL)
		push(argv, &argc, "--anchor-date", opts->anchor_date);
	if (opts->utc_offset != NULL)
		push(argv, &argc, "--utc-offset", opts->utc_offset);
	if (opts->latency_model != NULL)
		push(argv, &argc, "--latency-model", opts->latency_model);
	if (opts->latency_scale > 0) {
		snprintf(scale, sizeof(scale), "%g", opts->latency_scale);
		push(argv, &argc, "--latency-scale", scale);
	}
	if (opts->workers > 0) {
		snprintf(workers, sizeof(workers), "%d", opts->workers);
		push(argv, &argc, "--workers", workers);
	}
	for (int i = 0; opts->extra_args != NULL && opts->extra_args[i]; i++)
		push(argv, &argc, opts->extra_args[i], NULL);
	argv[argc] = NULL;

	if (pipe(pfd) < 0)
		goto out;
	fflush(NULL);
	if ((fw->pid = fork()) < 0)
		goto out;
	if (fw->pid == 0) {
		if (dup2(pfd[1], STDOUT_FILENO) < 0)
			_exit(126);
		if (opts->log_path != NULL) {
			int fd = open(opts->log_path, O_WRONLY | O_CREAT |
			    O_APPEND, 0600);

			if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
				_exit(126);
		}
		close(pfd[0]);
		close(pfd[1]);
		execv(TS_FAKEWC_PATH, (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	pfd[1] = -1;
	if ((fw->port = read_port(pfd[0])) == 0) {
		kill(fw->pid, SIGKILL);
		(void)reap(fw->pid);
		goto out;
	}
	snprintf(fw->url, sizeof(fw->url), "%s://127.0.0.1:%u",
	    opts->tls_cert ? "https" : "http", (unsigned)fw->port);
	*out = fw;
	fw = NULL;
	rc = TS_OK;
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	free(fw);
	return rc;
}

int
fakewc_ctl_stop(struct fakewc *fw)
{
	int rc;

	if (fw == NULL)
		return -1;
	kill(fw->pid, SIGTERM);
	rc = reap(fw->pid);
	free(fw);
	return rc;
}

struct body {
	char *p;
	size_t len;
};

static size_t
collect(char *data, size_t size, size_t n, void *userp)
{
	struct body *b = userp;
	char *p = realloc(b->p, b->len + size * n + 1);

	if (p == NULL)
		return 0;
	memcpy(p + b->len, data, size * n);
	b->p = p;
	b->len += size * n;
	b->p[b->len] = '\0';
	return size * n;
}

long
fakewc_ctl(struct fakewc *fw, const char *method, const char *path,
    const char *json_body, json_t **response)
{
	struct curl_slist *hdrs = NULL;
	struct body b = { NULL, 0 };
	char url[1024];
	long status = -1;
	CURL *c;

	if (response != NULL)
		*response = NULL;
	if ((c = curl_easy_init()) == NULL)
		return -1;
	snprintf(url, sizeof(url), "%s%s", fw->url, path);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (json_body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json_body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (response != NULL && b.p != NULL)
		*response = json_loadb(b.p, b.len, 0, NULL);
	free(b.p);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return status;
}

int
fakewc_ctl_flush(struct fakewc *fw, long timeout_ms)
{
	char body[64];

	snprintf(body, sizeof(body), "{\"timeout_ms\":%ld}", timeout_ms);
	return fakewc_ctl(fw, "POST", "/_fake/webhooks/flush", body, NULL) ==
	    200 ? 0 : -1;
}
