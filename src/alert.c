/* SPDX-License-Identifier: MIT */
/*
 * Do-Not-Serve alerts: the outbox (alert_outbox), the message, and its
 * delivery over SMTP with libcurl. CURLcode is translated here, at the
 * edge. Never logs: the caller logs the report, without addresses.
 */
#include "tracksies/alert.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sqlite3.h>

#include "tracksies/config.h"
#include "tracksies/db.h"
#include "tracksies/money.h"

#define MAX_FIELD 200
#define MAX_MESSAGE 8192

/* One alert as read from the outbox, before sending. */
struct due {
	int64_t order_id;
	int64_t customer_id;
	int attempts;
	char number[64];
	char status[32];
	char currency[8];
	int64_t total_minor;
	int64_t created_at;
	bool has_order;
	char name[MAX_FIELD];
	char email[MAX_FIELD];
	char reason[MAX_FIELD];
};

void
alert_smtp_from_config(const struct config *cfg, struct alert_smtp *out)
{
	memset(out, 0, sizeof(*out));
	out->url = cfg->smtp_url;
	out->from = cfg->smtp_from;
	out->to = cfg->smtp_to;
	out->username = cfg->smtp_username;
	out->password = cfg->smtp_password;
	/*
	 * Not [store] ca_file: that anchors the store's certificate, and would
	 * replace the system bundle a public mail server is verified with.
	 */
	out->ca_file = NULL;
	out->store_url = cfg->store_url;
	out->timeout_ms = cfg->timeout_ms;
}

enum ts_rc
alert_note_order(struct db *db, int64_t customer_id, int64_t order_id,
    int64_t now, bool *queued)
{
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;

	if (queued != NULL)
		*queued = false;
	/*
	 * Placed while banned: an order that was already there when the
	 * customer was banned (an old order updated, an import) is no news.
	 */
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db), "INSERT INTO alert_outbox"
	    " (order_id, customer_id, created_at, next_attempt_at) SELECT o.id,"
	    " c.id, ?3, ?3 FROM orders AS o JOIN customers AS c ON c.id = ?1"
	    " WHERE o.id = ?2 AND c.status = 'do_not_serve'"
	    " AND o.status NOT IN ('trash', 'deleted', 'checkout-draft')"
	    " AND (c.status_changed_at IS NULL OR o.created_at >= c.status_changed_at)"
	    " ON CONFLICT (order_id) DO NOTHING", -1, &st, NULL))) != TS_OK)
		return rc;
	(void)sqlite3_bind_int64(st, 1, customer_id);
	(void)sqlite3_bind_int64(st, 2, order_id);
	(void)sqlite3_bind_int64(st, 3, now);
	rc = db_rc(sqlite3_step(st));
	(void)sqlite3_finalize(st);
	if (rc == TS_OK && queued != NULL)
		*queued = sqlite3_changes(db_handle(db)) > 0;
	return rc;
}

enum ts_rc
alert_next_due(struct db *db, int64_t *at)
{
	sqlite3_int64 v = 0;
	enum ts_rc rc = db_query_int64(db, "SELECT next_attempt_at FROM alert_outbox"
	    " WHERE sent_at IS NULL ORDER BY next_attempt_at LIMIT 1", &v);

	*at = (int64_t)v;
	return rc;
}

/* ---- the message ----------------------------------------------------- */

/* Copy text, control characters (CR, LF: header injection) made spaces. */
static void
clean(char *dst, size_t size, const unsigned char *src)
{
	size_t i = 0;

	for (; src != NULL && *src != '\0' && i + 1 < size; src++)
		dst[i++] = *src < 0x20 || *src == 0x7f ? ' ' : (char)*src;
	dst[i] = '\0';
}

/* The bare address of "Name <addr>" or "addr", trimmed, into out[size]. */
static void
bare_address(const char *s, size_t len, char *out, size_t size)
{
	const char *lt = memchr(s, '<', len), *gt;

	if (lt != NULL && (gt = memchr(lt, '>', len - (size_t)(lt - s))) != NULL) {
		s = lt + 1;
		len = (size_t)(gt - s);
	}
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

static int
build_message(const struct alert_smtp *smtp, const struct due *d, int decimals,
    int64_t now, char *buf, size_t size)
{
	char date[64], placed[64], total[48], from[MAX_FIELD], to[MAX_FIELD * 2];
	time_t t = (time_t)now, c = (time_t)d->created_at;
	struct tm tm;
	const char *store = smtp->store_url != NULL ? smtp->store_url : "";

	(void)gmtime_r(&t, &tm);
	(void)strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	(void)gmtime_r(&c, &tm);
	(void)strftime(placed, sizeof(placed), "%Y-%m-%d %H:%M UTC", &tm);
	money_format(d->total_minor, decimals, total, sizeof(total));
	clean(from, sizeof(from), (const unsigned char *)smtp->from);
	clean(to, sizeof(to), (const unsigned char *)smtp->to);
	return snprintf(buf, size,
	    "Date: %s\r\n"
	    "From: %s\r\n"
	    "To: %s\r\n"
	    "Subject: [tracksies] Do-Not-Serve customer placed order #%s\r\n"
	    "Message-ID: <tracksies-alert-%" PRId64 "-%" PRId64 "@tracksiesd>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "Auto-Submitted: auto-generated\r\n"
	    "\r\n"
	    "A customer marked Do Not Serve has placed an order.\r\n"
	    "\r\n"
	    "Customer: %s (customer #%" PRId64 ")\r\n"
	    "Email:    %s\r\n"
	    "Banned:   %s\r\n"
	    "Order:    #%s, %s, placed %s\r\n"
	    "Total:    %s %s\r\n"
	    "\r\n"
	    "Review the order before it is processed:\r\n"
	    "  %s/wp-admin/post.php?post=%" PRId64 "&action=edit\r\n"
	    "With HPOS (WooCommerce's own order tables), the same order is at:\r\n"
	    "  %s/wp-admin/admin.php?page=wc-orders&action=edit&id=%" PRId64 "\r\n"
	    "\r\n"
	    "-- \r\n"
	    "tracksiesd\r\n",
	    date, from, to, d->number, d->order_id, now,
	    d->name[0] ? d->name : "(no name)", d->customer_id,
	    d->email[0] ? d->email : "(none)",
	    d->reason[0] ? d->reason : "(no reason recorded)",
	    d->number, d->has_order ? d->status : "status unknown",
	    d->has_order ? placed : "(unknown)", total, d->currency,
	    store, d->order_id, store, d->order_id);
}

/* ---- sending --------------------------------------------------------- */

struct upload {
	const char *data;
	size_t len;
	size_t off;
};

static size_t
read_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nmemb;

	if (n > u->len - u->off)
		n = u->len - u->off;
	memcpy(ptr, u->data + u->off, n);
	u->off += n;
	return n;
}

/* Each address of a comma-separated list as a recipient. */
static struct curl_slist *
recipients(const char *to)
{
	struct curl_slist *list = NULL, *grown;
	char addr[MAX_FIELD];

	while (to != NULL && *to != '\0') {
		size_t len = strcspn(to, ",");

		bare_address(to, len, addr, sizeof(addr));
		if (addr[0] != '\0') {
			if ((grown = curl_slist_append(list, addr)) == NULL) {
				curl_slist_free_all(list);
				return NULL;
			}
			list = grown;
		}
		to += len;
		if (*to == ',')
			to++;
	}
	return list;
}

/* Send message; TS_OK, or TS_ERR_TRANSIENT with error[] set. */
static enum ts_rc
send_mail(const struct alert_smtp *smtp, const char *message, size_t len,
    char *error, size_t size)
{
	struct upload up = { .data = message, .len = len };
	struct curl_slist *rcpt = NULL;
	char from[MAX_FIELD], errbuf[CURL_ERROR_SIZE] = "";
	bool implicit_tls = strncmp(smtp->url, "smtps://", 8) == 0;
	long timeout = smtp->timeout_ms > 0 ? smtp->timeout_ms : 30000;
	CURL *c = NULL;
	CURLcode cc;

	if ((rcpt = recipients(smtp->to)) == NULL) {
		(void)snprintf(error, size, "no recipient in smtp.to");
		return TS_ERR_TRANSIENT;
	}
	bare_address(smtp->from, strlen(smtp->from), from, sizeof(from));
	if ((c = curl_easy_init()) == NULL) {
		curl_slist_free_all(rcpt);
		(void)snprintf(error, size, "out of memory");
		return TS_ERR_TRANSIENT;
	}
	(void)curl_easy_setopt(c, CURLOPT_URL, smtp->url);
	(void)curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	(void)curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	(void)curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	(void)curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	(void)curl_easy_setopt(c, CURLOPT_READDATA, &up);
	(void)curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	(void)curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    timeout < 10000 ? timeout : 10000L);
	(void)curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (smtp->ca_file != NULL)
		(void)curl_easy_setopt(c, CURLOPT_CAINFO, smtp->ca_file);
	/*
	 * smtps:// is TLS from the first byte. On smtp://, STARTTLS when the
	 * server offers it - and required once there are credentials, which
	 * are never sent over a connection in clear.
	 */
	if (!implicit_tls)
		(void)curl_easy_setopt(c, CURLOPT_USE_SSL, smtp->username != NULL ?
		    (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY);
	if (smtp->username != NULL) {
		(void)curl_easy_setopt(c, CURLOPT_USERNAME, smtp->username);
		(void)curl_easy_setopt(c, CURLOPT_PASSWORD,
		    smtp->password != NULL ? smtp->password : "");
	}
	cc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	curl_slist_free_all(rcpt);
	if (cc == CURLE_OK)
		return TS_OK;
	/* A cut-off message is still the message: the length is not checked. */
	if (snprintf(error, size, "%s%s%s", curl_easy_strerror(cc),
	    errbuf[0] ? ": " : "", errbuf) < 0)
		error[0] = '\0';
	return TS_ERR_TRANSIENT;
}

/* ---- the outbox ------------------------------------------------------ */

static void
col_copy(sqlite3_stmt *st, int col, char *dst, size_t size)
{
	clean(dst, size, sqlite3_column_text(st, col));
}

static enum ts_rc
read_due(struct db *db, int64_t now, struct due *d, int *n)
{
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;
	int src;

	*n = 0;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db), "SELECT a.order_id,"
	    " a.customer_id, a.attempts, o.id IS NOT NULL, o.number, o.status,"
	    " o.currency, o.total_minor, o.created_at, trim(c.first_name || ' ' ||"
	    " c.last_name), c.email, c.status_reason FROM alert_outbox AS a"
	    " LEFT JOIN orders AS o ON o.id = a.order_id"
	    " LEFT JOIN customers AS c ON c.id = a.customer_id"
	    " WHERE a.sent_at IS NULL AND a.next_attempt_at <= ?1"
	    " ORDER BY a.next_attempt_at, a.order_id LIMIT ?2", -1, &st,
	    NULL))) != TS_OK)
		return rc;
	(void)sqlite3_bind_int64(st, 1, now);
	(void)sqlite3_bind_int(st, 2, ALERT_BATCH);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct due *x = &d[(*n)++];

		memset(x, 0, sizeof(*x));
		x->order_id = sqlite3_column_int64(st, 0);
		x->customer_id = sqlite3_column_int64(st, 1);
		x->attempts = sqlite3_column_int(st, 2);
		x->has_order = sqlite3_column_int(st, 3) != 0;
		if (x->has_order)
			col_copy(st, 4, x->number, sizeof(x->number));
		else
			(void)snprintf(x->number, sizeof(x->number), "%" PRId64,
			    x->order_id);
		col_copy(st, 5, x->status, sizeof(x->status));
		col_copy(st, 6, x->currency, sizeof(x->currency));
		x->total_minor = sqlite3_column_int64(st, 7);
		x->created_at = sqlite3_column_int64(st, 8);
		col_copy(st, 9, x->name, sizeof(x->name));
		col_copy(st, 10, x->email, sizeof(x->email));
		col_copy(st, 11, x->reason, sizeof(x->reason));
	}
	(void)sqlite3_finalize(st);
	return src == SQLITE_DONE ? TS_OK : db_rc(src);
}

static int64_t
backoff_s(int attempts)
{
	int64_t s = ALERT_RETRY_FIRST_S;

	for (int i = 1; i < attempts && s < ALERT_RETRY_MAX_S; i++)
		s *= 2;
	return s < ALERT_RETRY_MAX_S ? s : ALERT_RETRY_MAX_S;
}

/* Mark the outcome of one attempt (and audit a success), in one transaction. */
static enum ts_rc
record(struct db *db, const struct due *d, bool sent, const char *error,
    int64_t now)
{
	sqlite3 *h = db_handle(db);
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;

	if ((rc = db_begin(db)) != TS_OK)
		return rc;
	if ((rc = db_rc(sqlite3_prepare_v2(h, sent ?
	    "UPDATE alert_outbox SET sent_at = ?2, attempts = attempts + 1,"
	    " last_error = NULL WHERE order_id = ?1" :
	    "UPDATE alert_outbox SET attempts = attempts + 1,"
	    " next_attempt_at = ?2 + ?3, last_error = ?4 WHERE order_id = ?1",
	    -1, &st, NULL))) != TS_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, d->order_id);
	(void)sqlite3_bind_int64(st, 2, now);
	if (!sent) {
		(void)sqlite3_bind_int64(st, 3, backoff_s(d->attempts + 1));
		(void)sqlite3_bind_text(st, 4, error, -1, SQLITE_STATIC);
	}
	if ((rc = db_rc(sqlite3_step(st))) != TS_OK)
		goto out;
	(void)sqlite3_finalize(st);
	st = NULL;
	if (sent) {
		if ((rc = db_rc(sqlite3_prepare_v2(h, "INSERT INTO audit_log"
		    " (customer_id, at, actor, action, field, new_value, reason)"
		    " VALUES (?1, ?2, 'system', 'alert_sent', 'order', ?3,"
		    " 'Do-Not-Serve order alert emailed to the store admin')", -1,
		    &st, NULL))) != TS_OK)
			goto out;
		(void)sqlite3_bind_int64(st, 1, d->customer_id);
		(void)sqlite3_bind_int64(st, 2, now);
		(void)sqlite3_bind_text(st, 3, d->number, -1, SQLITE_STATIC);
		if ((rc = db_rc(sqlite3_step(st))) != TS_OK)
			goto out;
	}
	rc = db_commit(db);
out:
	(void)sqlite3_finalize(st);
	if (rc != TS_OK)
		db_rollback(db);
	return rc;
}

enum ts_rc
alert_deliver_pending(struct db *db, const struct alert_smtp *smtp, int64_t now,
    struct alert_report *out)
{
	struct due *d = NULL;
	char *message = NULL;
	sqlite3_int64 decimals = 2;
	int n = 0;
	enum ts_rc rc;

	memset(out, 0, sizeof(*out));
	if (smtp->url == NULL || smtp->from == NULL || smtp->to == NULL)
		return TS_OK;
	if ((d = calloc(ALERT_BATCH, sizeof(*d))) == NULL ||
	    (message = malloc(MAX_MESSAGE)) == NULL) {
		rc = TS_ERR_NOMEM;
		goto out;
	}
	(void)db_query_int64(db, "SELECT CAST(value AS INTEGER) FROM kv"
	    " WHERE key = 'store.decimals'", &decimals);
	if ((rc = read_due(db, now, d, &n)) != TS_OK)
		goto out;
	for (int i = 0; i < n; i++) {
		char error[256] = "";
		int len = build_message(smtp, &d[i], (int)decimals, now, message,
		    MAX_MESSAGE);
		bool sent;

		if (len < 0 || len >= MAX_MESSAGE)
			len = MAX_MESSAGE - 1;
		sent = send_mail(smtp, message, (size_t)len, error,
		    sizeof(error)) == TS_OK;
		if ((rc = record(db, &d[i], sent, error, now)) != TS_OK)
			goto out;
		if (sent) {
			out->sent++;
		} else {
			out->failed++;
			(void)snprintf(out->last_error, sizeof(out->last_error), "%s",
			    error);
		}
	}
	rc = alert_next_due(db, &out->next_due_at);
	if (rc == TS_ERR_NOTFOUND) {
		out->next_due_at = 0;
		rc = TS_OK;
	}
out:
	free(d);
	free(message);
	return rc;
}
