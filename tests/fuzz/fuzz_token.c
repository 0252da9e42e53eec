/* fuzz_token.c -- token_from_header (every Authorization header), token_hash, token_equal.
 * An extracted token lies inside the header after "Bearer " (any case) and spaces, is 1..256
 * printable ASCII characters without spaces, and runs to the end of the header. */
#include <strings.h>

#include "fuzz_common.h"
#include "token.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *header = fuzz_string(data, size);
    size_t length = strlen(header);
    const char *token = token_from_header(header);
    if (token) {
        FUZZ_CHECK(token >= header + 7 && token <= header + length, "token outside the header");
        FUZZ_CHECK(strncasecmp(header, "Bearer ", 7) == 0, "no Bearer scheme: \"%s\"", header);
        for (const char *p = header + 7; p < token; p++)
            FUZZ_CHECK(*p == ' ', "skipped a non-space before the token");
        size_t token_length = strlen(token);
        FUZZ_CHECK(token_length >= 1 && token_length <= 256, "token length %zu", token_length);
        for (size_t i = 0; i < token_length; i++)
            FUZZ_CHECK((unsigned char)token[i] > 0x20 && (unsigned char)token[i] < 0x7F,
                       "byte 0x%02x in a token", (unsigned char)token[i]);
        FUZZ_CHECK(token_equal(token, token), "a token differs from itself");
    }
    char hash[TOKEN_HASH_LENGTH + 1];
    memset(hash, 'x', sizeof(hash));
    token_hash(header, length, hash);
    FUZZ_CHECK(strlen(hash) == TOKEN_HASH_LENGTH &&
                   strspn(hash, "0123456789abcdef") == TOKEN_HASH_LENGTH,
               "hash \"%s\"", hash);
    if (length > 1) {
        char *other = fuzz_string(data, size);
        other[length - 1] ^= 1;
        if (other[length - 1] != '\0')
            FUZZ_CHECK(!token_equal(header, other), "different secrets compare equal");
        free(other);
    }
    free(header);
    return 0;
}
