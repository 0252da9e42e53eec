/* token.c -- see token.h. Randomness comes from getrandom(2); hashing from libmd. */
#include "token.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <sha2.h>

_Static_assert(SHA256_DIGEST_STRING_LENGTH == TOKEN_HASH_LENGTH + 1,
               "a token hash is the hex SHA-256");

int token_generate(char *out)
{
    unsigned char bytes[TOKEN_TEXT_LENGTH / 2];
    size_t filled = 0;
    while (filled < sizeof(bytes)) {
        ssize_t got = getrandom(bytes + filled, sizeof(bytes) - filled, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        filled += (size_t)got;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof(bytes); i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 15];
    }
    out[TOKEN_TEXT_LENGTH] = '\0';
    return 0;
}

void token_hash(const char *data, size_t length, char *out)
{
    /* SHA256Data writes the digest as lowercase hex, TOKEN_HASH_LENGTH digits and a NUL. */
    SHA256Data((const uint8_t *)data, length, out);
}

/* Compares every byte whatever the first difference, so the time says nothing about where
 * the hashes differ (the role CRYPTO_memcmp had). `volatile` keeps the compiler from turning
 * the loop back into an early-exit memcmp. */
static bool equal_in_constant_time(const char *left, const char *right, size_t length)
{
    volatile unsigned char difference = 0;
    for (size_t i = 0; i < length; i++)
        difference |= (unsigned char)(left[i] ^ right[i]);
    return difference == 0;
}

bool token_equal(const char *given, const char *expected)
{
    /* Compare hashes, so the time does not depend on where the strings differ nor on the
     * length of the secret. */
    char given_hash[TOKEN_HASH_LENGTH + 1], expected_hash[TOKEN_HASH_LENGTH + 1];
    token_hash(given, strlen(given), given_hash);
    token_hash(expected, strlen(expected), expected_hash);
    return equal_in_constant_time(given_hash, expected_hash, TOKEN_HASH_LENGTH);
}

bool token_hash_equal(const char *given_hash, const char *expected_hash)
{
    return equal_in_constant_time(given_hash, expected_hash, TOKEN_HASH_LENGTH);
}

const char *token_from_header(const char *header)
{
    if (!header || strncasecmp(header, "Bearer ", 7) != 0)
        return NULL;
    const char *token = header + 7;
    while (*token == ' ')
        token++;
    size_t length = strlen(token);
    if (length == 0 || length > 256)
        return NULL;
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)token[i] <= 0x20 || (unsigned char)token[i] >= 0x7F)
            return NULL;
    return token;
}
