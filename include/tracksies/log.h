/* SPDX-License-Identifier: MIT */
/*
 * One-line leveled logger on stderr. Each call is one write(2), so lines from
 * different threads never interleave. Under journald (JOURNAL_STREAM set) each
 * line starts with a <N> syslog priority; on a terminal with a UTC time and the
 * level name. Context goes in key=value form. Never pass secrets, signatures,
 * bodies or email addresses.
 */
#ifndef TRACKSIES_LOG_H
#define TRACKSIES_LOG_H

enum log_level {
	LOG_LEVEL_ERROR = 3,
	LOG_LEVEL_WARN = 4,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/* Set the most verbose level written. Any thread; takes effect at once. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Parse "error", "warn", "info", "debug". Returns 0 on success, -1 otherwise. */
int log_level_parse(const char *name, enum log_level *out);

void log_write(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
