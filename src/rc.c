/* SPDX-License-Identifier: MIT */
/* Names for enum ts_rc, for log lines and JSON errors. */
#include "tracksies/rc.h"

const char *
rc_name(enum ts_rc rc)
{
	switch (rc) {
	case TS_OK: return "ok";
	case TS_ERR_NOMEM: return "nomem";
	case TS_ERR_INVALID: return "invalid";
	case TS_ERR_NOTFOUND: return "notfound";
	case TS_ERR_TRANSIENT: return "transient";
	case TS_ERR_AUTH: return "auth";
	case TS_ERR_IO: return "io";
	}
	return "unknown";
}
