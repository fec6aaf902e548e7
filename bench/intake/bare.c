/* SPDX-License-Identifier: MIT */
/*
 * The transport limit for the intake benchmark: a bare libmicrohttpd
 * responder with the daemon's threading (internal polling thread, epoll, a
 * pool of INTAKE_THREADS) that reads and discards the POST body and answers 200
 * {"status":"queued"}. No verification, no parsing, no storage, no logging.
 *
 * usage: bare PORT      binds 127.0.0.1:PORT (0 picks one), prints
 *                       "port=N" on stdout, serves until SIGTERM/SIGINT.
 */
#include <errno.h>
#include <signal.h>
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

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	static int marker;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;
	/* First call: headers only. Say yes so that MHD sends the body. */
	if (*con_cls == NULL) {
		*con_cls = &marker;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
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
	char *end = NULL;
	unsigned long port;
	int sig = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: bare PORT\n");
		return 64;
	}
	errno = 0;
	port = strtoul(argv[1], &end, 10);
	if (errno != 0 || *end != '\0' || end == argv[1] || port > 65535) {
		fprintf(stderr, "bare: bad port '%s'\n", argv[1]);
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
	mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    access_handler, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
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
	return 0;
}
