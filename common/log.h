/* log.h -- structured logging, one JSON object per line on stderr.
 *
 * Every line carries the time (UTC, milliseconds), the level, the process role and the
 * message; callers may add fields as a pre-formatted JSON fragment. Nothing here ever
 * receives a token or a figure: callers log identifiers and counts only. */
#ifndef EDUMON_LOG_H
#define EDUMON_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the role written in every line ("api", "worker") and the lowest level printed. */
void log_init(const char *role, enum log_level min_level);

/* Parses "debug"/"info"/"warn"/"error"; returns -1 if unknown. */
int log_level_parse(const char *name);

/* Whether a line of `level` would be printed: lets a caller skip formatting fields that
 * would be thrown away (the access log, once per request). */
bool log_enabled(enum log_level level);

/* Logs a printf-formatted message. */
void log_message(enum log_level level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Logs a message plus extra fields: `fields` is a JSON object body without braces, e.g.
 * "\"status\":200,\"ms\":1.25", already escaped by the caller (use json_escape). */
void log_fields(enum log_level level, const char *message, const char *fields);

#endif
