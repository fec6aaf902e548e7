/* SPDX-License-Identifier: MIT */
/*
 * libmicrohttpd glue: one thread per connection (so a request held by the
 * latency model or a timeout fault never blocks another), the raw request
 * URI kept for OAuth (WooCommerce signs what the client sent, not MHD's
 * decoded copy), the query parsed the way PHP fills $_GET, bodies capped,
 * per-request state freed in the completion callback.
 */
#include "fakewc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>


/* PHP's php_register_variable_ex: leading spaces go, ' ' and '.' become '_'
 * in the base name, "[sub]" makes an array element. */
static void
add_param(struct http_req *r, char *key, char *value)
{
	struct http_param *p;
	char *k = key, *open, *close;

	while (*k == ' ')
		k++;
	if (*k == '\0') {
		free(key);
		free(value);
		return;
	}
	p = realloc(r->params, (r->n_params + 1) * sizeof(*p));
	if (p == NULL)
		abort();
	r->params = p;
	p = &r->params[r->n_params++];
	memset(p, 0, sizeof(*p));
	open = strchr(k, '[');
	close = open ? strchr(open, ']') : NULL;
	if (open != NULL && close != NULL && open != k) {
		*open = '\0';
		*close = '\0';
		p->is_array = true;
		p->sub = util_xstrdup(open + 1);
	} else if (open != NULL) {
		*open = '_';
	}
	for (char *c = k; *c; c++)
		if (*c == ' ' || *c == '.')
			*c = '_';
	p->key = util_xstrdup(k);
	p->value = value;
	free(key);
}

static void
http_parse_query(struct http_req *r)
{
	const char *q = strchr(r->raw_uri, '?'), *seg, *end, *eq;

	if (q == NULL)
		return;
	for (seg = q + 1; *seg; seg = *end ? end + 1 : end) {
		end = strchr(seg, '&');
		if (end == NULL)
			end = seg + strlen(seg);
		if (end == seg)
			continue;
		eq = memchr(seg, '=', (size_t)(end - seg));
		if (eq == NULL)
			add_param(r, util_urldecode(seg, (size_t)(end - seg), true),
			    util_xstrdup(""));
		else
			add_param(r, util_urldecode(seg, (size_t)(eq - seg), true),
			    util_urldecode(eq + 1, (size_t)(end - eq - 1), true));
	}
}

const char *
http_query(const struct http_req *r, const char *key)
{
	for (size_t i = r->n_params; i-- > 0;)
		if (!r->params[i].is_array && strcmp(r->params[i].key, key) == 0)
			return r->params[i].value;
	return NULL;
}

const char *
http_header(const struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

void
http_resp_header(struct http_resp *resp, const char *name, const char *value)
{
	util_buf_addf(&resp->headers, "%s: %s\n", name, value);
}

void
http_resp_json(struct http_resp *resp, int status, json_t *body)
{
	free(resp->body);
	resp->body = util_json_dump(body);
	resp->len = strlen(resp->body);
	resp->status = status;
	resp->content_type = "application/json; charset=UTF-8";
	json_decref(body);
}

void
http_resp_text(struct http_resp *resp, int status, const char *ctype,
    const char *text)
{
	free(resp->body);
	resp->body = util_xstrdup(text);
	resp->len = strlen(text);
	resp->status = status;
	resp->content_type = ctype;
}

static void
http_resp_free(struct http_resp *resp)
{
	free(resp->body);
	util_buf_free(&resp->headers);
	memset(resp, 0, sizeof(*resp));
}

static void
req_free(struct http_req *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_params; i++) {
		free(r->params[i].key);
		free(r->params[i].sub);
		free(r->params[i].value);
	}
	free(r->params);
	free(r->raw_uri);
	free(r->raw_path);
	free(r->path);
	util_buf_free(&r->body);
	free(r);
}

static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct http_req *r = util_xmalloc(sizeof(*r));
	const char *q = strchr(uri, '?');

	(void)cls;
	memset(r, 0, sizeof(*r));
	r->conn = c;
	r->raw_uri = util_xstrdup(uri);
	r->raw_path = q ? strndup(uri, (size_t)(q - uri)) : util_xstrdup(uri);
	if (r->raw_path == NULL)
		abort();
	return r;
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	req_free(*con_cls);
	*con_cls = NULL;
}

static enum MHD_Result
send_resp(struct MHD_Connection *c, struct http_resp *resp)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;
	char *line, *save = NULL;

	mr = MHD_create_response_from_buffer(resp->len, resp->body,
	    MHD_RESPMEM_MUST_FREE);
	if (mr == NULL)
		return MHD_NO;
	resp->body = NULL;
	if (resp->content_type != NULL)
		(void)MHD_add_response_header(mr, "Content-Type",
		    resp->content_type);
	for (line = resp->headers.p ? strtok_r(resp->headers.p, "\n", &save) :
	    NULL; line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');

		if (colon == NULL)
			continue;
		*colon = '\0';
		(void)MHD_add_response_header(mr, line, colon + 2);
	}
	ret = MHD_queue_response(c, (unsigned int)resp->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **con_cls)
{
	struct fake *f = cls;
	struct http_req *r = *con_cls;
	struct http_resp resp;
	enum MHD_Result ret;

	(void)version;
	if (r == NULL)
		return MHD_NO;
	if (!r->started) {
		r->started = true;
		r->method = method;
		r->path = util_xstrdup(url);
		http_parse_query(r);
		return MHD_YES;
	}
	if (*upload_size != 0) {
		if (r->body.len + *upload_size > FAKEWC_MAX_BODY)
			r->too_big = true;
		else
			util_buf_add(&r->body, upload_data, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	memset(&resp, 0, sizeof(resp));
	if (strncmp(url, "/_fake/", 7) == 0 || strcmp(url, "/_fake") == 0)
		control_handle(f, r, url + 6, &resp);
	else
		rest_handle(f, r, &resp);
	if (resp.drop) {
		http_resp_free(&resp);
		return MHD_NO;
	}
	if (resp.status == 0)
		http_resp_text(&resp, 500, "text/plain", "no response\n");
	ret = send_resp(c, &resp);
	http_resp_free(&resp);
	return ret;
}

static char *
read_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	struct util_buf b = { 0 };
	char chunk[4096];
	size_t n;

	if (fp == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		util_buf_add(&b, chunk, n);
	fclose(fp);
	return util_buf_take(&b);
}

int
http_listen(const char *host, uint16_t port, uint16_t *bound)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		fprintf(stderr, "fakewc: --listen: not an IPv4 address: %s\n",
		    host);
		return -1;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fd, 512) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		close(fd);
		return -1;
	}
	*bound = ntohs(sin.sin_port);
	return fd;
}

struct MHD_Daemon *
http_start(struct fake *f, int fd, const char *cert_path,
    const char *key_path)
{
	struct MHD_Daemon *d;
	char *cert = NULL, *key = NULL;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;

	if (cert_path != NULL) {
		if ((cert = read_file(cert_path)) == NULL ||
		    (key = read_file(key_path)) == NULL) {
			fprintf(stderr, "fakewc: cannot read TLS cert/key\n");
			free(cert);
			return NULL;
		}
		flags |= MHD_USE_TLS;
	}
	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, f,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, (void *)f,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, (void *)f,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)600,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1000,
	    cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert,
	    MHD_OPTION_HTTPS_MEM_KEY, key,
	    MHD_OPTION_END);
	if (d == NULL) {
		free(cert);
		free(key);
		return NULL;
	}
	/* MHD keeps pointers to the PEM text: free it after MHD_stop_daemon. */
	f->tls_pem[0] = cert;
	f->tls_pem[1] = key;
	return d;
}
