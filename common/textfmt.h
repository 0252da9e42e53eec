/* textfmt.h -- building short texts (headers, ids, small JSON answers) in a caller's buffer
 * without printf.
 *
 * On the request paths that run tens of thousands of times a second, snprintf's format
 * interpretation costs ~1 000 instructions a call, several times the copying it does. A
 * `struct text` appends strings and decimal numbers to a fixed buffer instead. It never
 * writes past the buffer: what does not fit is dropped and remembered, and text_end tells.
 *
 *     char location[64];
 *     struct text text = text_start(location, sizeof(location));
 *     text_add(&text, "/v1/submissions/");
 *     text_add(&text, id);
 *     if (!text_end(&text)) ... // did not fit
 */
#ifndef EDUMON_COMMON_TEXTFMT_H
#define EDUMON_COMMON_TEXTFMT_H

#include <stdbool.h>
#include <stddef.h>

struct text {
    char *at, *end; /* end: the last byte, kept for the NUL */
    bool overflow;
};

/* A text writing into buffer[0..size): at most size - 1 bytes and the NUL. With size 0
 * nothing is written and text_end is false. */
struct text text_start(char *buffer, size_t size);

void text_add(struct text *text, const char *string);
void text_add_bytes(struct text *text, const char *bytes, size_t length);
void text_add_char(struct text *text, char c);

/* `value` in decimal, with at least `width` digits (zeros in front): text_add_unsigned(t, 7,
 * 4) adds "0007"; width 0 or 1 adds the plain number. */
void text_add_unsigned(struct text *text, unsigned long long value, int width);

/* `value` in decimal, with a minus sign when negative ("%lld"). */
void text_add_signed(struct text *text, long long value);

/* NUL-terminates the text; false when something did not fit (what fitted is kept). */
bool text_end(struct text *text);

/* The length written so far into `buffer` (the one given to text_start). */
size_t text_length(const struct text *text, const char *buffer);

#endif
