/* SPDX-License-Identifier: MIT */
/*
 * The idle benchmark's floor: a process linked with exactly the daemon's
 * libraries that does nothing of its own. With "loaded" it only lets the
 * dynamic loader map them; with "initialised" it also does what every
 * tracksiesd start does to them: curl_global_init (OpenSSL), one HMAC,
 * one SQLite connection, one libmicrohttpd listener, one jansson object.
 * Then it prints "ready" and waits for SIGTERM, for bench/idle/run.sh to
 * read its RSS.
 *
 * usage: tracksies_bench_floor loaded|initialised
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>

static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *data,
    size_t *data_size, void **con_cls)
{
	(void)cls; (void)conn; (void)url; (void)method; (void)version;
	(void)data; (void)data_size; (void)con_cls;
	return MHD_NO;
}

int
main(int argc, char **argv)
{
	struct MHD_Daemon *mhd = NULL;
	sqlite3 *db = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	sigset_t set;
	int sig;

	if (argc != 2 || (strcmp(argv[1], "loaded") != 0 &&
	    strcmp(argv[1], "initialised") != 0)) {
		fprintf(stderr, "usage: %s loaded|initialised\n", argv[0]);
		return 64;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	(void)pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (strcmp(argv[1], "initialised") == 0) {
		json_t *doc = json_pack("{s:s}", "status", "queued");

		json_decref(doc);
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
		    HMAC(EVP_sha256(), "key", 3, (const unsigned char *)"body", 4,
		    md, &md_len) == NULL ||
		    sqlite3_open(":memory:", &db) != SQLITE_OK)
			return 1;
		mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
		    MHD_USE_EPOLL, 0, NULL, NULL, answer, NULL, MHD_OPTION_END);
		if (mhd == NULL)
			return 1;
	}
	printf("ready\n");
	fflush(stdout);
	(void)sigwait(&set, &sig);
	if (mhd != NULL)
		MHD_stop_daemon(mhd);
	sqlite3_close(db);
	return 0;
}
