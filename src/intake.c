/* SPDX-License-Identifier: MIT */
/*
 * Webhook intake: one route, POST {webhook.path}. The answer is decided by
 * webhook_classify(); a 2xx for anything that must be kept is sent only after
 * queue_enqueue() returned with the row committed. This file logs one line
 * per request, never the body, the signature or the secret.
 */
#include "tracksies/intake.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tracksies/log.h"
#include "tracksies/queue.h"

static void
answer_status(struct http_response *resp, const char *status, int64_t event_id)
{
	json_t *doc = json_pack("{s:s}", "status", status);

	if (doc != NULL && event_id > 0)
		(void)json_object_set_new(doc, "event_id", json_integer(event_id));
	http_response_json(resp, 200, doc);
}

/* Delivery ids are 32 hex chars; never echo anything else into a log. */
static const char *
safe_delivery_id(const char *id)
{
	size_t n = 0;

	if (id == NULL)
		return "-";
	for (; id[n] != '\0'; n++) {
		char c = id[n];
		if (n >= 64 || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F')))
			return "invalid";
	}
	return n > 0 ? id : "-";
}

static const char *
safe_topic(const char *topic)
{
	size_t n = 0;

	if (topic == NULL)
		return "-";
	for (; topic[n] != '\0'; n++) {
		char c = topic[n];
		if (n >= 64 || !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return "invalid";
	}
	return n > 0 ? topic : "-";
}

static void
store(struct intake *in, const struct webhook_request *wr,
    const struct webhook_result *res, struct http_response *resp)
{
	struct queue_event ev = {
		.source = "webhook",
		.topic = safe_topic(wr->topic),
		.webhook_id = res->webhook_id,
		.delivery_id = wr->delivery_id,
		.order_id = res->order_id,
		.modified_at = res->modified_at,
		.order_status = res->status[0] != '\0' ? res->status : NULL,
		.total_minor = res->total_minor,
		.has_total = res->has_total,
		.refund_count = res->refund_count,
		.state = res->verdict == WEBHOOK_QUEUE ? QUEUE_PENDING : QUEUE_FAILED,
		.error_code = res->verdict == WEBHOOK_QUEUE ? NULL : "malformed_payload",
		.error_message = res->verdict == WEBHOOK_QUEUE ? NULL : res->reason,
		.body_bytes = wr->body_len,
	};
	int64_t id = 0;
	enum ts_rc rc;

	rc = queue_enqueue(in->queue, &ev, &id);
	if (rc != TS_OK) {
		/*
		 * Never acknowledge what is not stored: a 503 counts as a failed
		 * delivery at WooCommerce, and the reconciler catches it up.
		 */
		atomic_fetch_add(&in->counters.storage_failed, 1);
		log_error("webhook: rejected status=503 reason=storage_%s topic=%s "
		    "order=%" PRId64 " delivery=%s", rc_name(rc), ev.topic,
		    res->order_id, safe_delivery_id(wr->delivery_id));
		http_response_error(resp, 503, "storage_unavailable",
		    "the event could not be stored; nothing was acknowledged");
		resp->retry_after_s = 60;
		return;
	}
	atomic_fetch_add(&in->counters.by_verdict[res->verdict], 1);
	if (res->verdict == WEBHOOK_QUEUE) {
		log_info("webhook: queued event=%" PRId64 " topic=%s order=%" PRId64
		    " webhook=%" PRId64 " delivery=%s", id, ev.topic, res->order_id,
		    res->webhook_id, safe_delivery_id(wr->delivery_id));
		answer_status(resp, "queued", id);
	} else {
		log_warn("webhook: stored failed event=%" PRId64 " topic=%s "
		    "error=malformed_payload delivery=%s: %s", id, ev.topic,
		    safe_delivery_id(wr->delivery_id), res->reason);
		answer_status(resp, "stored_failed", id);
	}
}

void
intake_handle(void *ctx, const struct http_request *req,
    struct http_response *resp)
{
	struct intake *in = ctx;
	struct webhook_request wr;
	struct webhook_result res;

	if (strcmp(req->path, in->path) != 0) {
		atomic_fetch_add(&in->counters.not_found, 1);
		http_response_error(resp, 404, "not_found", "no such path");
		return;
	}
	if (strcmp(req->method, "POST") != 0) {
		atomic_fetch_add(&in->counters.bad_method, 1);
		http_response_error(resp, 405, "method_not_allowed",
		    "webhooks are delivered with POST");
		resp->allow = "POST";
		return;
	}
	wr.topic = http_request_header(req, "X-WC-Webhook-Topic");
	wr.signature = http_request_header(req, "X-WC-Webhook-Signature");
	wr.webhook_id = http_request_header(req, "X-WC-Webhook-ID");
	wr.delivery_id = http_request_header(req, "X-WC-Webhook-Delivery-ID");
	wr.content_type = http_request_header(req, "Content-Type");
	wr.has_wc_headers = http_request_has_header_prefix(req, "X-WC-");
	wr.body = req->body;
	wr.body_len = req->body_len;
	if (webhook_classify(in->secret, &wr, &res) != TS_OK) {
		http_response_error(resp, 503, "out_of_memory", "try again");
		return;
	}
	switch (res.verdict) {
	case WEBHOOK_QUEUE:
	case WEBHOOK_MALFORMED:
		store(in, &wr, &res, resp);
		return;
	case WEBHOOK_PING:
		atomic_fetch_add(&in->counters.by_verdict[res.verdict], 1);
		log_info("webhook: ping answered (webhook creation or activation)");
		answer_status(resp, "ping", 0);
		return;
	case WEBHOOK_IGNORED:
		atomic_fetch_add(&in->counters.by_verdict[res.verdict], 1);
		log_info("webhook: ignored topic=%s webhook=%" PRId64 " delivery=%s",
		    safe_topic(wr.topic), res.webhook_id,
		    safe_delivery_id(wr.delivery_id));
		answer_status(resp, "ignored", 0);
		return;
	case WEBHOOK_UNSIGNED:
	case WEBHOOK_BAD_SIGNATURE:
		atomic_fetch_add(&in->counters.by_verdict[res.verdict], 1);
		log_warn("webhook: rejected status=401 reason=%s topic=%s delivery=%s",
		    webhook_verdict_name(res.verdict), safe_topic(wr.topic),
		    safe_delivery_id(wr.delivery_id));
		http_response_error(resp, 401, webhook_verdict_name(res.verdict),
		    res.verdict == WEBHOOK_UNSIGNED ?
		    "missing X-WC-Webhook-Signature" :
		    "X-WC-Webhook-Signature does not match the body and secret");
		return;
	}
}
