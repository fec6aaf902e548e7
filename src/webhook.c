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

#include "tracksies/hmac.h"
#include "tracksies/json_scan.h"
#include "tracksies/money.h"
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
scanned_id(const struct json_scan_field *f)
{
	char buf[24];

	if (f->value == NULL || f->len == 0 || f->len >= sizeof(buf))
		return 0;
	memcpy(buf, f->value, f->len);
	buf[f->len] = '\0';
	return parse_positive(buf);
}

static int
scanned_text(const struct json_scan_field *f, char *buf, size_t size)
{
	if (f->value == NULL || !f->is_string || f->len >= size)
		return 0;
	memcpy(buf, f->value, f->len);
	buf[f->len] = '\0';
	return 1;
}

enum { F_ID, F_ARG, F_STATUS, F_TOTAL, F_MODIFIED, F_REFUNDS, F_COUNT };

/*
 * Validate the payload and read the order id from it, without building a
 * tree: this runs for every delivery, ahead of the fsync that acknowledges
 * it. Full order payloads (created, updated, restored) carry the state the
 * store had at delivery time; its date_modified_gmt, status and total let
 * the worker settle a delivery that shows nothing new without a fetch.
 */
static void
read_order_id(const struct webhook_request *req, struct webhook_result *out)
{
	struct json_scan_field f[F_COUNT] = {
		[F_ID] = { .key = "id" }, [F_ARG] = { .key = "arg" },
		[F_STATUS] = { .key = "status" }, [F_TOTAL] = { .key = "total" },
		[F_MODIFIED] = { .key = "date_modified_gmt" },
		[F_REFUNDS] = { .key = "refunds" },
	};
	struct json_scan_error err;
	int is_object = 0, is_action = strncmp(req->topic, "action.", 7) == 0;
	char text[40];
	int64_t id;

	if (json_scan(req->body, req->body_len, f, F_COUNT, &is_object, &err) != TS_OK) {
		(void)snprintf(out->reason, sizeof(out->reason),
		    "malformed JSON at line %d column %d: %s", err.line,
		    err.column, err.text);
		out->verdict = WEBHOOK_MALFORMED;
		return;
	}
	if (!is_object) {
		(void)snprintf(out->reason, sizeof(out->reason),
		    "payload is not a JSON object");
		out->verdict = WEBHOOK_MALFORMED;
		return;
	}
	/* action.* topics carry {"action": hook, "arg": order id}. */
	if ((id = scanned_id(&f[is_action ? F_ARG : F_ID])) <= 0) {
		(void)snprintf(out->reason, sizeof(out->reason),
		    "payload has no order id (\"%s\")", is_action ? "arg" : "id");
		out->verdict = WEBHOOK_MALFORMED;
		return;
	}
	out->order_id = id;
	out->verdict = WEBHOOK_QUEUE;
	out->refund_count = -1;
	if (is_action || strcmp(req->topic, "order.deleted") == 0)
		return;
	if (scanned_text(&f[F_MODIFIED], text, sizeof(text)))
		(void)wc_order_parse_time(text, &out->modified_at);
	(void)scanned_text(&f[F_STATUS], out->status, sizeof(out->status));
	if (scanned_text(&f[F_TOTAL], text, sizeof(text)) &&
	    money_parse(text, 2, &out->total_minor) == TS_OK)
		out->has_total = 1;
	/* A refund leaves status and total alone: count them too. */
	if (f[F_REFUNDS].value != NULL && f[F_REFUNDS].value[0] == '[')
		out->refund_count = f[F_REFUNDS].count;
}

enum ts_rc
webhook_classify(const struct hmac_key *key, const struct webhook_request *req,
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
	if (!hmac_key_verify(key, req->body, req->body_len, req->signature)) {
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
