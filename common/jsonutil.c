/* jsonutil.c -- see jsonutil.h. */
#include "jsonutil.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

size_t json_escape(const char *text, char *out, size_t capacity)
{
    size_t used = 0;
    if (capacity == 0)
        return 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        char chunk[8];
        size_t chunk_length;
        switch (*p) {
        case '"':
            chunk[0] = '\\', chunk[1] = '"', chunk_length = 2;
            break;
        case '\\':
            chunk[0] = '\\', chunk[1] = '\\', chunk_length = 2;
            break;
        case '\n':
            chunk[0] = '\\', chunk[1] = 'n', chunk_length = 2;
            break;
        case '\r':
            chunk[0] = '\\', chunk[1] = 'r', chunk_length = 2;
            break;
        case '\t':
            chunk[0] = '\\', chunk[1] = 't', chunk_length = 2;
            break;
        default:
            if (*p < 0x20) {
                chunk_length = (size_t)snprintf(chunk, sizeof(chunk), "\\u%04x", *p);
            } else {
                chunk[0] = (char)*p;
                chunk_length = 1;
            }
        }
        if (used + chunk_length + 1 > capacity) {
            /* Do not leave half a UTF-8 sequence behind. */
            while (used > 0 && ((unsigned char)out[used - 1] & 0xC0) == 0x80)
                used--;
            if (used > 0 && ((unsigned char)out[used - 1] & 0xC0) == 0xC0)
                used--;
            break;
        }
        memcpy(out + used, chunk, chunk_length);
        used += chunk_length;
    }
    out[used] = '\0';
    return used;
}

long long json_now_ms(void)
{
    struct timeval now;
    gettimeofday(&now, NULL);
    return (long long)now.tv_sec * 1000 + now.tv_usec / 1000;
}

void json_format_time(long long epoch_ms, char *out, size_t capacity)
{
    time_t seconds = (time_t)(epoch_ms / 1000);
    struct tm utc;
    gmtime_r(&seconds, &utc);
    char date[24];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(out, capacity, "%s.%03dZ", date, (int)(epoch_ms % 1000));
}

void json_format_now(char *out, size_t capacity)
{
    json_format_time(json_now_ms(), out, capacity);
}

char *json_error_body(const char *code, const char *message, const char *field)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *error = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(error, "code", code);
    cJSON_AddStringToObject(error, "message", message);
    if (field && *field)
        cJSON_AddStringToObject(error, "field", field);
    char *printed = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return printed;
}

bool json_format_whole(double value, char *out, size_t size)
{
    if (size < 24 || !(fabs(value) < 1e15) || value != floor(value) ||
        (value == 0 && signbit(value)))
        return false;
    long long whole = (long long)value;
    unsigned long long magnitude =
        whole < 0 ? 0ull - (unsigned long long)whole : (unsigned long long)whole;
    char digits[24];
    size_t count = 0;
    do {
        digits[count++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    size_t length = 0;
    if (whole < 0)
        out[length++] = '-';
    while (count)
        out[length++] = digits[--count];
    out[length] = '\0';
    return true;
}

void json_add_number(cJSON *object, const char *name, double value)
{
    if (!isfinite(value)) {
        cJSON_AddNullToObject(object, name);
        return;
    }
    char text[32];
    /* Most figures are whole numbers: printed exactly as "%.15g" would, without printf. */
    if (json_format_whole(value, text, sizeof(text))) {
        cJSON_AddRawToObject(object, name, text);
        return;
    }
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof(text), "%.*g", digits, value);
        if (strtod(text, NULL) == value)
            break;
    }
    cJSON_AddRawToObject(object, name, text);
}

char *json_print(const cJSON *item)
{
    return item ? cJSON_PrintUnformatted(item) : NULL;
}

char *json_read_file(const char *path, size_t *length_out)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    char *buffer = NULL;
    size_t length = 0, capacity = 0;
    for (;;) {
        if (length + 4096 + 1 > capacity) {
            capacity = capacity ? capacity * 2 : 16384;
            char *grown = realloc(buffer, capacity);
            if (!grown) {
                free(buffer);
                fclose(file);
                errno = ENOMEM;
                return NULL;
            }
            buffer = grown;
        }
        size_t got = fread(buffer + length, 1, capacity - length - 1, file);
        length += got;
        if (got == 0)
            break;
    }
    int failed = ferror(file);
    fclose(file);
    if (failed) {
        free(buffer);
        errno = EIO;
        return NULL;
    }
    buffer[length] = '\0';
    if (length_out)
        *length_out = length;
    return buffer;
}

size_t json_plain_run(const char *text, size_t length)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    size_t at = 0;
    for (; length - at >= 8; at += 8) {
        uint64_t word;
        memcpy(&word, text + at, sizeof(word));
        /* (x - n * ones) & ~x has a byte's high bit set somewhere iff some byte of x is below
         * n (n <= 128): a zero byte of word ^ '"', of word ^ '\\', or a byte of word < 0x20. */
        uint64_t quote = word ^ (ones * '"'), backslash = word ^ (ones * '\\');
        uint64_t special = ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) |
                           ((word - ones * 0x20) & ~word);
        special &= highs;
        if (special) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            /* Borrows only run upwards from a byte that is itself special, so the lowest
             * flag is the first special byte (the first in memory, little-endian). */
            return at + (size_t)__builtin_ctzll(special) / 8;
#else
            break;
#endif
        }
    }
    while (at < length) {
        unsigned char c = (unsigned char)text[at];
        if (c == '"' || c == '\\' || c < 0x20)
            break;
        at++;
    }
    return at;
}
