/* SPDX-License-Identifier: MIT */
/*
 * Webhook classification (PRODUCT.md section 2): signature first, then the
 * ping, then the topic, then the order id in the payload. It leaves the
 * transport to http_server.c and storage to queue.c.
 */
#include "tracksies/webhook.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "tracksies/hmac.h"
#include "tracksies/wc_order.h"

static const char *const sync_topics[] = {
	"order.created",
	"order.updated",
	"order.restored",
	"order.deleted",
	"action.woocommerce_payment_complete",
};

int
webhook_topic_syncs(const char *topic)
{
	if (topic == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(sync_topics) / sizeof(sync_topics[0]); i++)
		if (strcmp(topic, sync_topics[i]) == 0)
			return 1;
	return 0;
}

const char *
webhook_verdict_name(enum webhook_verdict v)
{
	switch (v) {
	case WEBHOOK_QUEUE: return "queued";
	case WEBHOOK_MALFORMED: return "malformed";
	case WEBHOOK_PING: return "ping";
	case WEBHOOK_IGNORED: return "ignored_topic";
	case WEBHOOK_UNSIGNED: return "unsigned";
	case WEBHOOK_BAD_SIGNATURE: return "bad_signature";
	}
	return "unknown";
}

static int64_t
parse_positive(const char *text)
{
	char *end = NULL;
	long long v;

	if (text == NULL || *text < '0' || *text > '9')
		return 0;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return 0;
	return (int64_t)v;
}

/*
 * The ping WooCommerce sends when a webhook is created or re-activated: a
 * form-encoded "webhook_id=N", with no X-WC-* headers and no signature.
 */
static int
is_ping(const struct webhook_request *req)
{
	static const char prefix[] = "webhook_id=";
	const size_t plen = sizeof(prefix) - 1;

	if (req->has_wc_headers || req->signature != NULL)
		return 0;
	if (req->content_type == NULL || strncasecmp(req->content_type,
	    "application/x-www-form-urlencoded", 33) != 0)
		return 0;
	if (req->body_len <= plen || req->body_len > plen + 20 ||
	    memcmp(req->body, prefix, plen) != 0)
		return 0;
	for (size_t i = plen; i < req->body_len; i++)
		if (req->body[i] < '0' || req->body[i] > '9')
			return 0;
	return 1;
}

/* A JSON id as WooCommerce sends it: an integer, or digits in a string. */
static int64_t
json_id(const json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) : 0;
	if (json_is_string(v))
		return parse_positive(json_string_value(v));
	return 0;
}

static void
read_order_id(const struct webhook_request *req, struct webhook_result *out)
{
	json_error_t err;
	json_t *doc = NULL;
	int64_t id = 0;

	doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &err);
	if (doc == NULL) {
		(void)snprintf(out->reason, sizeof(out->reason),
		    "malformed JSON at line %d column %d: %s", err.line,
		    err.column, err.text);
		out->verdict = WEBHOOK_MALFORMED;
		return;
	}
	if (!json_is_object(doc)) {
		(void)snprintf(out->reason, sizeof(out->reason),
		    "payload is not a JSON object");
		out->verdict = WEBHOOK_MALFORMED;
		goto out;
	}
	/* action.* topics carry {"action": hook, "arg": order id}. */
	if (strncmp(req->topic, "action.", 7) == 0)
		id = json_id(json_object_get(doc, "arg"));
	else
		id = json_id(json_object_get(doc, "id"));
	if (id <= 0) {
		(void)snprintf(out->reason, sizeof(out->reason),
		    "payload has no order id (\"%s\")",
		    strncmp(req->topic, "action.", 7) == 0 ? "arg" : "id");
		out->verdict = WEBHOOK_MALFORMED;
		goto out;
	}
	out->order_id = id;
	out->verdict = WEBHOOK_QUEUE;
	/*
	 * Full order payloads (created, updated, restored) carry the state the
	 * store had at delivery time: its fingerprint lets the worker skip the
	 * fetch when it already holds that state (our own echo, a repeat).
	 */
	if (strncmp(req->topic, "order.", 6) == 0 &&
	    strcmp(req->topic, "order.deleted") != 0) {
		struct wc_order *order = NULL;
		if (wc_order_parse(doc, 2, &order) == TS_OK)
			out->fingerprint = wc_order_fingerprint(order);
		wc_order_free(order);
	}
out:
	json_decref(doc);
}

enum ts_rc
webhook_classify(const char *secret, const struct webhook_request *req,
    struct webhook_result *out)
{
	memset(out, 0, sizeof(*out));
	out->webhook_id = parse_positive(req->webhook_id);
	if (is_ping(req)) {
		out->verdict = WEBHOOK_PING;
		return TS_OK;
	}
	if (req->signature == NULL || *req->signature == '\0') {
		out->verdict = WEBHOOK_UNSIGNED;
		return TS_OK;
	}
	if (!hmac_verify(secret, req->body, req->body_len, req->signature)) {
		out->verdict = WEBHOOK_BAD_SIGNATURE;
		return TS_OK;
	}
	/*
	 * Signed from here on: answer 200 whatever comes next, because
	 * WooCommerce disables a webhook after a run of failed deliveries
	 * and the sender cannot fix an unknown topic or its own payload.
	 */
	if (!webhook_topic_syncs(req->topic)) {
		out->verdict = WEBHOOK_IGNORED;
		return TS_OK;
	}
	read_order_id(req, out);
	return TS_OK;
}
