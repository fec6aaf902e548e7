/* SPDX-License-Identifier: MIT */
/*
 * Webhook intake: one route, POST {webhook.path}. The answer is decided by
 * webhook_classify(); a 2xx for anything that must be kept is sent only once
 * the queue's committer reported the row committed (the request waits
 * suspended, not on a thread). This file logs one line per request, never
 * the body, the signature or the secret.
 */
#include "tracksies/intake.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracksies/log.h"
#include "tracksies/queue.h"

/*
 * {"status":status} or {"status":status,"event_id":N}, written directly:
 * every acknowledged delivery gets one, and a jansson tree for it cost
 * more allocations than the rest of the answer.
 */
static void
answer_status(struct http_response *resp, const char *status, int64_t event_id)
{
	/* The longest answer, "stored_failed" with a 19-digit id, is 57 bytes. */
	enum { SIZE = 96 };
	char *text = malloc(SIZE);
	int n;

	if (text == NULL) {
		http_response_error(resp, 503, "out_of_memory", "try again");
		return;
	}
	if (event_id > 0)
		n = snprintf(text, SIZE, "{\"status\":\"%s\",\"event_id\":%" PRId64 "}",
		    status, event_id);
	else
		n = snprintf(text, SIZE, "{\"status\":\"%s\"}", status);
	http_response_json_text(resp, 200, text, (size_t)n);
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

/*
 * A delivery waiting for its commit. The request is suspended meanwhile,
 * so the header strings ev points to stay valid; the server frees this
 * with the request.
 */
struct pending {
	struct webhook_result res;
	struct queue_event ev;
	struct http_deferred *defer;
	enum ts_rc rc;
	int64_t id;
};

/* From the queue's committer: note the verdict, let a request thread answer. */
static void
stored(void *arg, enum ts_rc rc, int64_t id)
{
	struct pending *p = arg;

	p->rc = rc;
	p->id = id;
	http_deferred_resume(p->defer);
}

/* The answer once the event is committed or refused (a request thread). */
static void
answer_stored(void *ctx, const struct http_request *req,
    struct http_response *resp)
{
	struct intake *in = ctx;
	struct pending *p = req->data;
	const struct queue_event *ev = &p->ev;

	if (p->rc != TS_OK) {
		/*
		 * Never acknowledge what is not stored: a 503 counts as a failed
		 * delivery at WooCommerce, and the reconciler catches it up.
		 */
		atomic_fetch_add(&in->counters.storage_failed, 1);
		log_error("webhook: rejected status=503 reason=storage_%s topic=%s "
		    "order=%" PRId64 " delivery=%s", rc_name(p->rc), ev->topic,
		    ev->order_id, safe_delivery_id(ev->delivery_id));
		http_response_error(resp, 503, "storage_unavailable",
		    "the event could not be stored; nothing was acknowledged");
		resp->retry_after_s = 60;
		return;
	}
	atomic_fetch_add(&in->counters.by_verdict[p->res.verdict], 1);
	if (ev->state == QUEUE_PENDING) {
		log_info("webhook: queued event=%" PRId64 " topic=%s order=%" PRId64
		    " webhook=%" PRId64 " delivery=%s", p->id, ev->topic,
		    ev->order_id, ev->webhook_id, safe_delivery_id(ev->delivery_id));
		answer_status(resp, "queued", p->id);
	} else {
		log_warn("webhook: stored failed event=%" PRId64 " topic=%s "
		    "error=malformed_payload delivery=%s: %s", p->id, ev->topic,
		    safe_delivery_id(ev->delivery_id), p->res.reason);
		answer_status(resp, "stored_failed", p->id);
	}
}

/*
 * Queue the delivery and answer once it is durable, without holding the
 * request thread meanwhile: the request is suspended and answer_stored
 * runs when the committer is done with it.
 */
static void
store(struct intake *in, const struct http_request *req,
    const struct webhook_request *wr, const struct webhook_result *res,
    struct http_response *resp)
{
	struct pending *p = calloc(1, sizeof(*p));
	enum ts_rc rc;

	if (p == NULL) {
		http_response_error(resp, 503, "out_of_memory", "try again");
		return;
	}
	p->res = *res;
	p->ev = (struct queue_event){
		.source = "webhook",
		.topic = safe_topic(wr->topic),
		.webhook_id = res->webhook_id,
		.delivery_id = wr->delivery_id,
		.order_id = res->order_id,
		.modified_at = res->modified_at,
		.order_status = p->res.status[0] != '\0' ? p->res.status : NULL,
		.total_minor = res->total_minor,
		.has_total = res->has_total,
		.refund_count = res->refund_count,
		.state = res->verdict == WEBHOOK_QUEUE ? QUEUE_PENDING : QUEUE_FAILED,
		.error_code = res->verdict == WEBHOOK_QUEUE ? NULL : "malformed_payload",
		.error_message = res->verdict == WEBHOOK_QUEUE ? NULL : p->res.reason,
		.body_bytes = wr->body_len,
	};
	if ((p->defer = http_request_defer(req, answer_stored, p)) == NULL) {
		http_response_error(resp, 503, "out_of_memory", "try again");
		return;
	}
	/* From here on p is the committer's until it resumes the request. */
	if ((rc = queue_submit(in->queue, &p->ev, stored, p)) != TS_OK) {
		p->rc = rc;
		http_deferred_resume(p->defer);	/* answer_stored says 503 */
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
	if (webhook_classify(in->key, &wr, &res) != TS_OK) {
		http_response_error(resp, 503, "out_of_memory", "try again");
		return;
	}
	switch (res.verdict) {
	case WEBHOOK_QUEUE:
	case WEBHOOK_MALFORMED:
		store(in, req, &wr, &res, resp);
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
