/* Unit tests for common/resp.c: the bytes hiredis' redisFormatCommandArgv writes, for any
 * arguments (empty, binary, long), and a length that is exactly what is written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "resp.h"

static void assert_same_as_hiredis(int argc, const char **argv, const size_t *lengths)
{
    char *theirs = NULL;
    long long their_length = redisFormatCommandArgv(&theirs, argc, argv, lengths);
    assert_true(their_length > 0);
    size_t length = resp_length(argc, argv, lengths);
    assert_int_equal(length, (size_t)their_length);
    char *mine = malloc(length + 1);
    assert_non_null(mine);
    mine[length] = '\x7f'; /* guard: nothing written past the length */
    assert_int_equal(resp_encode(mine, argc, argv, lengths), length);
    assert_memory_equal(mine, theirs, length);
    assert_int_equal(mine[length], '\x7f');
    free(mine);
    redisFreeCommand(theirs);
}

static void plain_commands(void **state)
{
    (void)state;
    const char *get[] = {"GET", "edumon:marker"};
    assert_same_as_hiredis(2, get, NULL);
    const char *time[] = {"TIME"};
    assert_same_as_hiredis(1, time, NULL);
    const char *empty[] = {"HMGET", "edumon:schools", "", "-"};
    assert_same_as_hiredis(4, empty, NULL);
    const char encoded[] = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
    const char *key[] = {"GET", "k"};
    char out[64];
    assert_int_equal(resp_encode(out, 2, key, NULL), sizeof(encoded) - 1);
    assert_memory_equal(out, encoded, sizeof(encoded) - 1);
}

/* Binary arguments (NUL, CR LF inside), lengths crossing digit counts, many arguments. */
static void binary_and_long_arguments(void **state)
{
    (void)state;
    static char bytes[20000 + 64]; /* each argument starts a few bytes in */
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < sizeof(bytes); i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        bytes[i] = (char)(x & 0xff);
    }
    size_t sizes[] = {0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 9999, 10000, 19999};
    const char *argv[1 + sizeof(sizes) / sizeof(sizes[0])];
    size_t lengths[1 + sizeof(sizes) / sizeof(sizes[0])];
    argv[0] = "EVALSHA", lengths[0] = 7;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        argv[i + 1] = bytes + i;
        lengths[i + 1] = sizes[i];
    }
    assert_same_as_hiredis((int)(sizeof(argv) / sizeof(argv[0])), argv, lengths);
    /* argc itself of one, two and three digits */
    static const char *many[700];
    static size_t many_lengths[700];
    for (size_t i = 0; i < 700; i++) {
        many[i] = bytes + i;
        many_lengths[i] = i % 37;
    }
    int counts[] = {9, 10, 99, 100, 700};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
        assert_same_as_hiredis(counts[i], many, many_lengths);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_commands),
        cmocka_unit_test(binary_and_long_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
