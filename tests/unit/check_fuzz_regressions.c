/* SPDX-License-Identifier: MIT */
/*
 * Every input a fuzzer ever crashed on (tests/fuzz/regressions/<target>/)
 * and every seed (tests/fuzz/corpus/<target>/) replayed through the same
 * entry points the libFuzzer targets use, compiled here with the project's
 * own flags (and its sanitizers under -DTS_SANITIZE). Each input runs in a
 * child process, so a crash names its file; an abort, a signal or a leak
 * report fails the test.
 */
#define _XOPEN_SOURCE 700	/* nftw */
#define FUZZ_REPLAY

#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../fuzz/fuzz_admin.c"
#include "../fuzz/fuzz_config.c"
#include "../fuzz/fuzz_json_scan.c"
#include "../fuzz/fuzz_tags.c"
#include "../fuzz/fuzz_wc_order.c"
#include "../fuzz/fuzz_webhook.c"

#define FUZZ_DIR TS_FIXTURES_DIR "/../fuzz"

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

static char scratch[64];

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Temp files the targets make (credentials, the admin database) go here. */
static void
setup(void)
{
	snprintf(scratch, sizeof(scratch), "/tmp/tracksies-replay-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(scratch));
	ck_assert_int_eq(setenv("TMPDIR", scratch, 1), 0);
}

static void
teardown(void)
{
	(void)nftw(scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0, got;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			ck_assert_ptr_nonnull(buf = realloc(buf, cap));
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	*len = n;
	return buf;
}

/* Replay every file of dir (absent: none) through fn; returns the count. */
static int
replay_dir(const char *dir, fuzz_fn fn)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort), count = 0;

	for (int i = 0; i < n; i++) {
		char path[1024];
		struct stat sb;
		pid_t pid;
		int status;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		free(names[i]);
		if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		fflush(NULL);
		ck_assert_int_ge(pid = fork(), 0);
		if (pid == 0) {
			size_t len;
			uint8_t *data = slurp(path, &len);
			fn(data, len);
			free(data);
			exit(0);	/* exit, not _exit: LeakSanitizer runs */
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "%s: %s %d", path, WIFSIGNALED(status) ? "signal" : "exit",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		count++;
	}
	free(names);
	return count;
}

static void
replay(const char *target, fuzz_fn fn)
{
	char dir[512];
	int n;

	snprintf(dir, sizeof(dir), "%s/regressions/%s", FUZZ_DIR, target);
	n = replay_dir(dir, fn);
	snprintf(dir, sizeof(dir), "%s/corpus/%s", FUZZ_DIR, target);
	n += replay_dir(dir, fn);
	fprintf(stderr, "fuzz regressions: %s: %d inputs replayed\n", target, n);
}

START_TEST(webhook_inputs_replay_cleanly)
{
	replay("webhook", fuzz_webhook);
}
END_TEST

START_TEST(config_inputs_replay_cleanly)
{
	replay("config", fuzz_config);
}
END_TEST

START_TEST(wc_order_inputs_replay_cleanly)
{
	replay("wc_order", fuzz_wc_order);
}
END_TEST

START_TEST(json_scan_inputs_replay_cleanly)
{
	replay("json_scan", fuzz_json_scan);
}
END_TEST

START_TEST(tags_inputs_replay_cleanly)
{
	replay("tags", fuzz_tags);
}
END_TEST

START_TEST(admin_inputs_replay_cleanly)
{
	replay("admin", fuzz_admin);
}
END_TEST

static Suite *
fuzz_regressions_suite(void)
{
	Suite *s = suite_create("fuzz_regressions");
	TCase *tc = tcase_create("replay");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, webhook_inputs_replay_cleanly);
	tcase_add_test(tc, config_inputs_replay_cleanly);
	tcase_add_test(tc, wc_order_inputs_replay_cleanly);
	tcase_add_test(tc, json_scan_inputs_replay_cleanly);
	tcase_add_test(tc, tags_inputs_replay_cleanly);
	tcase_add_test(tc, admin_inputs_replay_cleanly);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(fuzz_regressions_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
