/* jsonutil.h -- small JSON helpers shared by both processes: escaping for hand-built
 * fragments (logs, metrics labels), timestamps in the contract's format, and the error
 * body every failed request answers with. Documents themselves are built with cJSON. */
#ifndef EDUMON_JSONUTIL_H
#define EDUMON_JSONUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* Writes `text` escaped for use inside a JSON string into `out` (always terminated,
 * truncated at a character boundary if `capacity` is too small). Returns the length. */
size_t json_escape(const char *text, char *out, size_t capacity);

/* Formats milliseconds since the epoch as "2024-10-08T09:12:44.120Z". */
void json_format_time(long long epoch_ms, char *out, size_t capacity);
void json_format_now(char *out, size_t capacity);

/* Milliseconds since the epoch (wall clock). */
long long json_now_ms(void);

/* Returns a newly allocated error document
 *   {"error":{"code":…,"message":…,"field":…}}
 * (`field` omitted when NULL or empty). Caller frees with free(). */
char *json_error_body(const char *code, const char *message, const char *field);

/* Adds a number printed with the fewest digits that read back as exactly the same double
 * (cJSON's own printing keeps 15 digits whenever they compare "close enough", so 0.1 + 0.2
 * would come out as 0.3). Non-finite values become null. */
void json_add_number(cJSON *object, const char *name, double value);

/* A whole number below 10^15 in magnitude (not -0) written in plain decimal digits -- the text
 * "%.15g" and "%.17g" give, without printf -- into `out` (at least 24 bytes). False, writing
 * nothing, for any other value. */
bool json_format_whole(double value, char *out, size_t size);

/* How many leading bytes of text[0, length) stand in a JSON string as themselves: the length
 * of the run before the first '"', '\\' or control character (< 0x20), or `length`. Bytes
 * from 0x7f up (UTF-8) are plain. Eight bytes a step. */
size_t json_plain_run(const char *text, size_t length);

/* cJSON_PrintUnformatted, but NULL-safe. Caller frees with cJSON_free(). */
char *json_print(const cJSON *item);

/* Reads a whole file into a NUL-terminated buffer. Caller frees. NULL on error (errno set). */
char *json_read_file(const char *path, size_t *length_out);

#endif
