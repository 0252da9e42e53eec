/* token.h -- bearer tokens. A school token is 32 random bytes from the OS (256 bits),
 * written as 64 hex characters; edumon keeps only its SHA-256, so a leaked database gives no
 * usable token. Comparisons of secrets run in constant time. */
#ifndef EDUMON_TOKEN_H
#define EDUMON_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_TEXT_LENGTH 64
#define TOKEN_HASH_LENGTH 64

/* Fills `out` (at least TOKEN_TEXT_LENGTH + 1 bytes) with a new random token. Returns 0, or
 * -1 if the OS could not supply randomness. */
int token_generate(char *out);

/* Writes the hex SHA-256 of `data` into `out` (TOKEN_HASH_LENGTH + 1 bytes). */
void token_hash(const char *data, size_t length, char *out);

/* Constant-time equality of two NUL-terminated secrets (time depends only on the length
 * of `expected`). */
bool token_equal(const char *given, const char *expected);

/* Constant-time comparison of two token_hash results. */
bool token_hash_equal(const char *given_hash, const char *expected_hash);

/* Extracts the token from an "Authorization: Bearer <token>" header value. Returns a
 * pointer into `header`, or NULL when absent or malformed. */
const char *token_from_header(const char *header);

#endif
