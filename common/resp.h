/* resp.h -- a command encoded for the Redis wire (RESP2 multi-bulk), as hiredis'
 * redisFormatCommandArgv encodes it, byte for byte, without its per-argument printf.
 *
 * hiredis formats each argument's "$<length>\r\n" with sdscatfmt, ~250 instructions an
 * argument: for the API's batched SUBMIT (10 arguments a submission) that was 4 % of its
 * instructions. Encoded here into one buffer sized first, it goes to hiredis with
 * redisAsyncFormattedCommand, which copies it as it is. */
#ifndef EDUMON_COMMON_RESP_H
#define EDUMON_COMMON_RESP_H

#include <stddef.h>

/* The encoded length of the command argv[0..argc) (lengths[i] bytes each, or strlen when
 * `lengths` is NULL). */
size_t resp_length(int argc, const char *const *argv, const size_t *lengths);

/* Encodes the command into `out`, which has room for resp_length bytes (no NUL is added).
 * Returns the bytes written: resp_length's. */
size_t resp_encode(char *out, int argc, const char *const *argv, const size_t *lengths);

#endif
