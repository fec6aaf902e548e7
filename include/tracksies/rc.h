/* SPDX-License-Identifier: MIT */
/*
 * The one error convention: every function that can fail returns enum ts_rc
 * and passes results through out-parameters. Foreign codes (SQLITE_*, CURLcode,
 * HTTP statuses) are translated once, at the edge that owns them.
 */
#ifndef TRACKSIES_RC_H
#define TRACKSIES_RC_H

enum ts_rc {
	TS_OK = 0,
	TS_ERR_NOMEM,		/* allocation failed */
	TS_ERR_INVALID,		/* bad input; retrying cannot help */
	TS_ERR_NOTFOUND,	/* lookup miss */
	TS_ERR_TRANSIENT,	/* timeout, refused, 429, 5xx, SQLITE_BUSY: back off and retry */
	TS_ERR_AUTH,		/* 401/403 from the store: pause the worker and report */
	TS_ERR_IO,		/* local disk or database failure */
};

/* A short, stable, lower-case name for rc ("ok", "nomem", ...). Never NULL. */
const char *rc_name(enum ts_rc rc);

#endif
