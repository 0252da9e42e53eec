/* resp.c -- see resp.h. */
#include "resp.h"

#include <string.h>

static size_t digit_count(size_t value)
{
    size_t count = 1;
    while (value >= 10) {
        value /= 10;
        count++;
    }
    return count;
}

/* `value` in decimal at `out`; returns the digits written. */
static size_t put_decimal(char *out, size_t value)
{
    size_t count = digit_count(value);
    for (size_t i = count; i > 0; i--) {
        out[i - 1] = (char)('0' + value % 10);
        value /= 10;
    }
    return count;
}

static size_t argument_length(const char *const *argv, const size_t *lengths, int i)
{
    return lengths ? lengths[i] : strlen(argv[i]);
}

size_t resp_length(int argc, const char *const *argv, const size_t *lengths)
{
    size_t total = 1 + digit_count((size_t)argc) + 2; /* "*<argc>\r\n" */
    for (int i = 0; i < argc; i++) {
        size_t length = argument_length(argv, lengths, i);
        total += 1 + digit_count(length) + 2 + length + 2; /* "$<length>\r\n<bytes>\r\n" */
    }
    return total;
}

size_t resp_encode(char *out, int argc, const char *const *argv, const size_t *lengths)
{
    char *at = out;
    *at++ = '*';
    at += put_decimal(at, (size_t)argc);
    *at++ = '\r', *at++ = '\n';
    for (int i = 0; i < argc; i++) {
        size_t length = argument_length(argv, lengths, i);
        *at++ = '$';
        at += put_decimal(at, length);
        *at++ = '\r', *at++ = '\n';
        if (length)
            memcpy(at, argv[i], length);
        at += length;
        *at++ = '\r', *at++ = '\n';
    }
    return (size_t)(at - out);
}
