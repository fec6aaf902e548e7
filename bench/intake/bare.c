/* SPDX-License-Identifier: MIT */
/*
 * The transport limit for the intake benchmark: a bare libmicrohttpd
 * responder with the daemon's event loop (HTTP_SERVER_LOOP_FLAGS, a pool of
 * INTAKE_THREADS) that reads and discards the POST body and answers 200
 * {"status":"queued"}. No verification, no parsing, no storage, no logging.
 *
 * With --handoff it answers the way the daemon does, after a hand-off:
 * each request is suspended and a second thread, standing in for the
 * queue's committer, takes the waiting requests in batches and resumes
 * them, at once (no storage). That is the ceiling of any design that
 * answers after a commit made on another thread.
 *
 * usage: bare [--handoff] PORT   binds 127.0.0.1:PORT (0 picks one), prints
 *                                "port=N" on stdout, serves until
 *                                SIGTERM/SIGINT.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "tracksies/intake.h"


static const char reply[] = "{\"status\":\"queued\"}";

/* --handoff: a request between its suspend and its resume. */
struct waiting {
	struct MHD_Connection *conn;
	bool resumed;
	struct waiting *next;
};

static bool handoff;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct waiting *batch;	/* guarded by lock */
static bool stopping;		/* guarded by lock */

/* The stand-in committer: resumes every request waiting, batch by batch. */
static void *
resumer_main(void *arg)
{
	struct waiting *w, *next;

	(void)arg;
	(void)pthread_mutex_lock(&lock);
	for (;;) {
		while (batch == NULL && !stopping)
			(void)pthread_cond_wait(&wake, &lock);
		if (batch == NULL)
			break;
		w = batch;
		batch = NULL;
		(void)pthread_mutex_unlock(&lock);
		for (; w != NULL; w = next) {
			next = w->next;
			w->resumed = true;
			MHD_resume_connection(w->conn);
		}
		(void)pthread_mutex_lock(&lock);
	}
	(void)pthread_mutex_unlock(&lock);
	return NULL;
}

static void
request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct waiting *w = *con_cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;
	/* First call: headers only. Say yes so that MHD sends the body. */
	if (w == NULL) {
		if ((w = calloc(1, sizeof(*w))) == NULL)
			return MHD_NO;
		w->conn = conn;
		*con_cls = w;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (handoff && !w->resumed) {
		/* Suspended before the resumer can see it, as http_server.c. */
		MHD_suspend_connection(conn);
		(void)pthread_mutex_lock(&lock);
		w->next = batch;
		batch = w;
		(void)pthread_cond_signal(&wake);
		(void)pthread_mutex_unlock(&lock);
		return MHD_YES;
	}
	w->resumed = false;
	resp = MHD_create_response_from_buffer(sizeof(reply) - 1,
	    (void *)(uintptr_t)reply, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	fputs("bare: mhd: ", stderr);
	(void)vfprintf(stderr, fmt, ap);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct MHD_Daemon *mhd;
	const union MHD_DaemonInfo *info;
	sigset_t set;
	pthread_t resumer;
	char *end = NULL;
	const char *arg;
	unsigned long port;
	int sig = 0;

	handoff = argc == 3 && strcmp(argv[1], "--handoff") == 0;
	if (argc != 2 && !handoff) {
		fprintf(stderr, "usage: bare [--handoff] PORT\n");
		return 64;
	}
	arg = argv[argc - 1];
	errno = 0;
	port = strtoul(arg, &end, 10);
	if (errno != 0 || *end != '\0' || end == arg || port > 65535) {
		fprintf(stderr, "bare: bad port '%s'\n", arg);
		return 64;
	}

	/* Signals are taken by sigwait() below, never by MHD's threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	(void)pthread_sigmask(SIG_BLOCK, &set, NULL);
	(void)signal(SIGPIPE, SIG_IGN);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (handoff && pthread_create(&resumer, NULL, resumer_main, NULL) != 0) {
		fprintf(stderr, "bare: cannot start the resumer thread\n");
		return 1;
	}
	mhd = MHD_start_daemon(HTTP_SERVER_LOOP_FLAGS | MHD_USE_ERROR_LOG |
	    (handoff ? MHD_ALLOW_SUSPEND_RESUME : 0), 0, NULL, NULL,
	    access_handler, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)INTAKE_THREADS,
	    MHD_OPTION_CONNECTION_TIMEOUT, 60u,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
	    MHD_OPTION_END);
	if (mhd == NULL) {
		fprintf(stderr, "bare: cannot listen on 127.0.0.1:%lu: %s\n", port,
		    strerror(errno));
		return 1;
	}
	info = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT);
	printf("port=%u\n", info != NULL ? (unsigned)info->port : 0u);
	(void)fflush(stdout);

	while (sigwait(&set, &sig) != 0)
		;
	MHD_stop_daemon(mhd);
	if (handoff) {
		(void)pthread_mutex_lock(&lock);
		stopping = true;
		(void)pthread_cond_signal(&wake);
		(void)pthread_mutex_unlock(&lock);
		(void)pthread_join(resumer, NULL);
	}
	return 0;
}
