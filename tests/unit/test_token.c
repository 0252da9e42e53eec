/* Unit tests for token.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "token.h"

static void generates_distinct_hex_tokens(void **state)
{
    (void)state;
    char first[TOKEN_TEXT_LENGTH + 1], second[TOKEN_TEXT_LENGTH + 1];
    assert_int_equal(token_generate(first), 0);
    assert_int_equal(token_generate(second), 0);
    assert_int_equal(strlen(first), TOKEN_TEXT_LENGTH);
    assert_int_equal(strspn(first, "0123456789abcdef"), TOKEN_TEXT_LENGTH);
    assert_string_not_equal(first, second);
}

static void hashes_with_sha256(void **state)
{
    (void)state;
    char hash[TOKEN_HASH_LENGTH + 1];
    token_hash("abc", 3, hash);
    assert_string_equal(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* FIPS 180-4 two-block vector (448 bits: the padding spills into a second block). */
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    token_hash(two_blocks, strlen(two_blocks), hash);
    assert_string_equal(hash, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    token_hash("", 0, hash);
    assert_string_equal(hash, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void compares_hashes_at_every_position(void **state)
{
    (void)state;
    char expected[TOKEN_HASH_LENGTH + 1], given[TOKEN_HASH_LENGTH + 1];
    token_hash("secret-token", 12, expected);
    assert_true(token_hash_equal(expected, expected));
    for (size_t i = 0; i < TOKEN_HASH_LENGTH; i++) {
        memcpy(given, expected, sizeof(given));
        given[i] = given[i] == '0' ? '1' : '0';
        assert_false(token_hash_equal(given, expected));
    }
}

static void compares_and_parses(void **state)
{
    (void)state;
    assert_true(token_equal("secret-token", "secret-token"));
    assert_false(token_equal("secret-tokem", "secret-token"));
    assert_false(token_equal("", "secret-token"));
    assert_string_equal(token_from_header("Bearer abc"), "abc");
    assert_string_equal(token_from_header("bearer   abc"), "abc");
    assert_null(token_from_header("Basic abc"));
    assert_null(token_from_header("Bearer "));
    assert_null(token_from_header("Bearer a b"));
    assert_null(token_from_header(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(generates_distinct_hex_tokens), cmocka_unit_test(hashes_with_sha256),
        cmocka_unit_test(compares_hashes_at_every_position), cmocka_unit_test(compares_and_parses)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
