/* token.c -- see token.h. Randomness comes from getrandom(2); hashing from libcrypto. */
#include "token.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

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
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned int sum_length = 0;
    EVP_Digest(data, length, sum, &sum_length, EVP_sha256(), NULL);
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < sum_length && i < 32; i++) {
        out[2 * (size_t)i] = hex[sum[i] >> 4];
        out[2 * (size_t)i + 1] = hex[sum[i] & 15];
    }
    out[TOKEN_HASH_LENGTH] = '\0';
}

bool token_equal(const char *given, const char *expected)
{
    /* Compare hashes, so the time does not depend on where the strings differ nor on the
     * length of the secret. */
    char given_hash[TOKEN_HASH_LENGTH + 1], expected_hash[TOKEN_HASH_LENGTH + 1];
    token_hash(given, strlen(given), given_hash);
    token_hash(expected, strlen(expected), expected_hash);
    return CRYPTO_memcmp(given_hash, expected_hash, TOKEN_HASH_LENGTH) == 0;
}

bool token_hash_equal(const char *given_hash, const char *expected_hash)
{
    return CRYPTO_memcmp(given_hash, expected_hash, TOKEN_HASH_LENGTH) == 0;
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
