/* SPDX-License-Identifier: MIT */
/* reconcile.c: whether WooCommerce would deliver to a public_url. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tracksies/reconcile.h"

START_TEST(public_address_on_a_standard_port_is_delivered_to)
{
	ck_assert_ptr_null(reconcile_url_refused("https://hooks.example.com/wc",
	    "https://shop.example.com"));
	ck_assert_ptr_null(reconcile_url_refused("http://203.0.113.5:8080/wc", NULL));
}
END_TEST

START_TEST(loopback_and_private_hosts_of_another_site_are_refused)
{
	static const char *const urls[] = { "http://127.0.0.1/wc",
		"https://localhost/wc", "http://10.1.2.3/wc", "http://172.16.0.9/wc",
		"http://192.168.1.20/wc", "http://169.254.1.1/wc", "http://[::1]/wc",
		"http://[fd00::5]/wc" };

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		const char *why = reconcile_url_refused(urls[i], "https://shop.example.com");
		ck_assert_msg(why != NULL && strstr(why, "private") != NULL, "%s", urls[i]);
	}
	ck_assert_ptr_nonnull(reconcile_url_refused("http://127.0.0.1/wc", NULL));
}
END_TEST

/* wp_http_validate_url() lets the shop's own host through. */
START_TEST(the_shops_own_private_host_is_delivered_to)
{
	ck_assert_ptr_null(reconcile_url_refused("http://192.168.1.20/tracksies/hook",
	    "http://192.168.1.20"));
	ck_assert_ptr_null(reconcile_url_refused("https://LocalHost/hook",
	    "https://localhost/"));
	ck_assert_ptr_null(reconcile_url_refused("http://127.0.0.1/hook",
	    "http://127.0.0.1:80/shop"));
	/* Its own port too, and only the shop's. */
	ck_assert_ptr_null(reconcile_url_refused("http://10.0.0.2:8443/hook",
	    "http://10.0.0.2:8443"));
	ck_assert_ptr_nonnull(reconcile_url_refused("http://10.0.0.2:9000/hook",
	    "http://10.0.0.2:8443"));
	/* A different host on the same network is still refused. */
	ck_assert_ptr_nonnull(reconcile_url_refused("http://192.168.1.21/hook",
	    "http://192.168.1.20"));
	ck_assert_ptr_nonnull(reconcile_url_refused("http://192.168.1.2/hook",
	    "http://192.168.1.20"));
}
END_TEST

START_TEST(other_ports_and_schemes_are_refused)
{
	const char *why = reconcile_url_refused("https://hooks.example.com:8443/wc",
	    "https://shop.example.com");

	ck_assert_ptr_nonnull(why);
	ck_assert_ptr_nonnull(strstr(why, "80, 443 and 8080"));
	ck_assert_ptr_nonnull(reconcile_url_refused("ftp://hooks.example.com/wc", NULL));
	ck_assert_ptr_nonnull(reconcile_url_refused(NULL, NULL));
}
END_TEST

static Suite *
reconcile_suite(void)
{
	Suite *s = suite_create("reconcile");
	TCase *tc = tcase_create("url_refused");

	tcase_add_test(tc, public_address_on_a_standard_port_is_delivered_to);
	tcase_add_test(tc, loopback_and_private_hosts_of_another_site_are_refused);
	tcase_add_test(tc, the_shops_own_private_host_is_delivered_to);
	tcase_add_test(tc, other_ports_and_schemes_are_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(reconcile_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
