/* textfmt.c -- see textfmt.h. */
#include "textfmt.h"

#include <string.h>

struct text text_start(char *buffer, size_t size)
{
    if (size == 0) { /* nothing fits, not even the NUL */
        struct text none = {NULL, NULL, true};
        return none;
    }
    struct text text = {buffer, buffer + size - 1, false};
    return text;
}

void text_add_bytes(struct text *text, const char *bytes, size_t length)
{
    size_t room = (size_t)(text->end - text->at);
    if (length > room) {
        length = room;
        text->overflow = true;
    }
    if (length == 0)
        return;
    memcpy(text->at, bytes, length);
    text->at += length;
}

void text_add(struct text *text, const char *string)
{
    text_add_bytes(text, string, strlen(string));
}

void text_add_char(struct text *text, char c)
{
    text_add_bytes(text, &c, 1);
}

void text_add_unsigned(struct text *text, unsigned long long value, int width)
{
    char digits[24]; /* 2^64 has 20 digits */
    size_t count = 0;
    do {
        digits[sizeof(digits) - ++count] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    while (count < sizeof(digits) && (int)count < width)
        digits[sizeof(digits) - ++count] = '0';
    text_add_bytes(text, digits + sizeof(digits) - count, count);
}

void text_add_signed(struct text *text, long long value)
{
    if (value < 0) {
        text_add_char(text, '-');
        /* -(value + 1) + 1: no overflow for LLONG_MIN */
        text_add_unsigned(text, (unsigned long long)(-(value + 1)) + 1, 0);
        return;
    }
    text_add_unsigned(text, (unsigned long long)value, 0);
}

bool text_end(struct text *text)
{
    if (text->at)
        *text->at = '\0';
    return !text->overflow;
}

size_t text_length(const struct text *text, const char *buffer)
{
    return text->at ? (size_t)(text->at - buffer) : 0;
}
