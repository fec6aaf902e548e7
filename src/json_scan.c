/* SPDX-License-Identifier: MIT */
/*
 * RFC 8259 validation in one pass, recursive descent over a byte buffer,
 * with no allocation. Strings are checked for control characters, escapes
 * and UTF-8 well-formedness; numbers for the grammar. Top-level object
 * members named by the caller are reported as slices of the buffer.
 */
#include "tracksies/json_scan.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_DEPTH 512

struct scanner {
	const char *buf;
	size_t len;
	size_t pos;
	int depth;
	int last_array_count;	/* elements of the array that closed last */
	struct json_scan_error *err;
	int failed;
};

static void
fail(struct scanner *s, const char *what)
{
	int line = 1, col = 1;

	if (s->failed++)
		return;
	for (size_t i = 0; i < s->pos && i < s->len; i++) {
		if (s->buf[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	s->err->line = line;
	s->err->column = col;
	(void)snprintf(s->err->text, sizeof(s->err->text), "%s", what);
}

static void
skip_ws(struct scanner *s)
{
	while (s->pos < s->len && (s->buf[s->pos] == ' ' || s->buf[s->pos] == '\t' ||
	    s->buf[s->pos] == '\n' || s->buf[s->pos] == '\r'))
		s->pos++;
}

static int
peek(struct scanner *s)
{
	return s->pos < s->len ? (unsigned char)s->buf[s->pos] : -1;
}

static int value(struct scanner *s);

/*
 * The end of the run of plain string bytes (printable ASCII other than '"'
 * and '\\') from pos: the first byte that is not plain, or where fewer than
 * eight bytes are left. Sixteen bytes at a time with SSE2, then eight in a
 * word; most of an order payload is such runs, and string() looks at the
 * byte where this stops.
 */
static size_t
plain_run(const char *buf, size_t pos, size_t len)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;

#ifdef __SSE2__
	const __m128i quote16 = _mm_set1_epi8('"'), bslash16 = _mm_set1_epi8('\\');
	const __m128i space16 = _mm_set1_epi8(0x20);

	while (len - pos >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(buf + pos));
		/* Signed: bytes from 0x80 are negative, below 0x20 too. */
		__m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote16),
		    _mm_cmpeq_epi8(v, bslash16)), _mm_cmplt_epi8(v, space16));
		unsigned mask = (unsigned)_mm_movemask_epi8(stop);

		if (mask != 0)
			return pos + (size_t)__builtin_ctz(mask);
		pos += 16;
	}
#endif
	while (len - pos >= 8) {
		uint64_t w, quote, bslash, ctrl, stop;

		memcpy(&w, buf + pos, sizeof(w));
		quote = w ^ (ones * '"');
		bslash = w ^ (ones * '\\');
		/*
		 * Each term has a byte's high bit set when that byte may not be
		 * plain; the lowest such bit is exact (a borrow only carries up).
		 */
		quote = (quote - ones) & ~quote;
		bslash = (bslash - ones) & ~bslash;
		ctrl = (w - ones * 0x20) & ~w;
		stop = (quote | bslash | ctrl | w) & highs;
		if (stop != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return pos + (size_t)__builtin_ctzll(stop) / 8;
#else
			break;		/* string() steps over the plain bytes */
#endif
		}
		pos += 8;
	}
	return pos;
}

static int
hex4(struct scanner *s)
{
	for (int i = 0; i < 4; i++, s->pos++) {
		int c = peek(s);
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F'))) {
			fail(s, "bad \\u escape");
			return -1;
		}
	}
	return 0;
}

/* One UTF-8 sequence starting at a byte >= 0x80. */
static int
utf8(struct scanner *s)
{
	const unsigned char *p = (const unsigned char *)s->buf + s->pos;
	size_t left = s->len - s->pos, need;
	unsigned c = p[0];
	unsigned cp;

	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		cp = c & 0x07;
	} else {
		fail(s, "invalid UTF-8");
		return -1;
	}
	if (left <= need) {
		fail(s, "truncated UTF-8");
		return -1;
	}
	for (size_t i = 1; i <= need; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			fail(s, "invalid UTF-8");
			return -1;
		}
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates, and beyond U+10FFFF. */
	if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
		fail(s, "invalid UTF-8");
		return -1;
	}
	s->pos += need + 1;
	return 0;
}

/* A string at s->pos (on the quote); start and slen get its inside. */
static int
string(struct scanner *s, const char **start, size_t *slen)
{
	size_t begin;

	s->pos++;
	begin = s->pos;
	for (;;) {
		int c;

		/* Blocks of plain bytes, then the rest of the run. */
		s->pos = plain_run(s->buf, s->pos, s->len);
		while ((c = peek(s)) >= 0x20 && c < 0x80 && c != '"' && c != '\\')
			s->pos++;
		if (c < 0) {
			fail(s, "unterminated string");
			return -1;
		}
		if (c == '"')
			break;
		if (c < 0x20) {
			fail(s, "control character in string");
			return -1;
		}
		if (c == '\\') {
			s->pos++;
			c = peek(s);
			if (c == 'u') {
				s->pos++;
				if (hex4(s) != 0)
					return -1;
				continue;
			}
			if (c <= 0 || strchr("\"\\/bfnrt", c) == NULL) {
				fail(s, "bad escape in string");
				return -1;
			}
			s->pos++;
			continue;
		}
		/* c >= 0x80 */
		if (utf8(s) != 0)
			return -1;
	}
	if (start != NULL) {
		*start = s->buf + begin;
		*slen = s->pos - begin;
	}
	s->pos++;
	return 0;
}

static int
digits(struct scanner *s)
{
	size_t from = s->pos;

	while (peek(s) >= '0' && peek(s) <= '9')
		s->pos++;
	return s->pos > from ? 0 : -1;
}

static int
number(struct scanner *s)
{
	if (peek(s) == '-')
		s->pos++;
	if (peek(s) == '0') {
		s->pos++;
	} else if (digits(s) != 0) {
		fail(s, "bad number");
		return -1;
	}
	if (peek(s) == '.') {
		s->pos++;
		if (digits(s) != 0) {
			fail(s, "bad number");
			return -1;
		}
	}
	if (peek(s) == 'e' || peek(s) == 'E') {
		s->pos++;
		if (peek(s) == '+' || peek(s) == '-')
			s->pos++;
		if (digits(s) != 0) {
			fail(s, "bad number");
			return -1;
		}
	}
	return 0;
}

static int
literal(struct scanner *s, const char *word)
{
	size_t n = strlen(word);

	if (s->len - s->pos < n || memcmp(s->buf + s->pos, word, n) != 0) {
		fail(s, "invalid token");
		return -1;
	}
	s->pos += n;
	return 0;
}

static int
object(struct scanner *s, struct json_scan_field *fields, size_t n)
{
	s->pos++;
	skip_ws(s);
	if (peek(s) == '}') {
		s->pos++;
		return 0;
	}
	for (;;) {
		const char *key = NULL;
		size_t klen = 0, vstart;
		struct json_scan_field *hit = NULL;

		skip_ws(s);
		if (peek(s) != '"') {
			fail(s, "expected a member name");
			return -1;
		}
		if (string(s, &key, &klen) != 0)
			return -1;
		for (size_t i = 0; fields != NULL && i < n; i++)
			if (fields[i].key_len == klen &&
			    memcmp(fields[i].key, key, klen) == 0)
				hit = &fields[i];
		skip_ws(s);
		if (peek(s) != ':') {
			fail(s, "expected ':'");
			return -1;
		}
		s->pos++;
		skip_ws(s);
		vstart = s->pos;
		if (value(s) != 0)
			return -1;
		if (hit != NULL) {
			hit->count = s->buf[vstart] == '[' ? s->last_array_count : 0;
			hit->is_string = s->buf[vstart] == '"';
			hit->value = s->buf + vstart + (hit->is_string ? 1 : 0);
			hit->len = s->pos - vstart - (hit->is_string ? 2 : 0);
		}
		skip_ws(s);
		if (peek(s) == ',') {
			s->pos++;
			continue;
		}
		if (peek(s) == '}') {
			s->pos++;
			return 0;
		}
		fail(s, "expected ',' or '}'");
		return -1;
	}
}

static int
array(struct scanner *s)
{
	int count = 0;

	s->pos++;
	skip_ws(s);
	if (peek(s) == ']') {
		s->pos++;
		s->last_array_count = 0;
		return 0;
	}
	for (;;) {
		skip_ws(s);
		if (value(s) != 0)
			return -1;
		count++;
		skip_ws(s);
		if (peek(s) == ',') {
			s->pos++;
			continue;
		}
		if (peek(s) == ']') {
			s->pos++;
			/* Set on the way out: nested arrays closed before this one. */
			s->last_array_count = count;
			return 0;
		}
		fail(s, "expected ',' or ']'");
		return -1;
	}
}

static int
value(struct scanner *s)
{
	int c = peek(s), rc;

	if (++s->depth > MAX_DEPTH) {
		fail(s, "nested too deeply");
		return -1;
	}
	switch (c) {
	case '{': rc = object(s, NULL, 0); break;
	case '[': rc = array(s); break;
	case '"': rc = string(s, NULL, NULL); break;
	case 't': rc = literal(s, "true"); break;
	case 'f': rc = literal(s, "false"); break;
	case 'n': rc = literal(s, "null"); break;
	case -1: fail(s, "unexpected end of input"); rc = -1; break;
	default:
		if (c == '-' || (c >= '0' && c <= '9')) {
			rc = number(s);
		} else {
			fail(s, "invalid token");
			rc = -1;
		}
	}
	s->depth--;
	return rc;
}

enum ts_rc
json_scan(const char *buf, size_t len, struct json_scan_field *fields,
    size_t n, int *is_object, struct json_scan_error *err)
{
	struct scanner s = { buf, len, 0, 0, 0, err, 0 };
	int rc;

	memset(err, 0, sizeof(*err));
	for (size_t i = 0; i < n; i++) {
		fields[i].value = NULL;
		fields[i].len = 0;
		fields[i].is_string = 0;
		fields[i].count = 0;
		fields[i].key_len = strlen(fields[i].key);
	}
	if (is_object != NULL)
		*is_object = 0;
	skip_ws(&s);
	if (peek(&s) == '{') {
		s.depth = 1;
		rc = object(&s, fields, n);
		if (is_object != NULL)
			*is_object = 1;
	} else {
		rc = value(&s);
	}
	if (rc == 0) {
		skip_ws(&s);
		if (s.pos != s.len) {
			fail(&s, "end of file expected");
			rc = -1;
		}
	}
	return rc == 0 ? TS_OK : TS_ERR_INVALID;
}
