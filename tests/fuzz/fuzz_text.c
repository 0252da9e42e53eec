/* fuzz_text.c -- the text validators and encoders every request's strings go through:
 * id_is_valid, text_is_clean_utf8 (both checked against independent reference
 * implementations), json_escape (with every output capacity: the result always fits, is
 * terminated, contains no raw control character, and a valid UTF-8 input never yields a cut
 * UTF-8 sequence) and json_error_body (always a JSON document that reads back with the same
 * strings). */
#include <cjson/cJSON.h>

#include "fuzz_common.h"
#include "jsonutil.h"
#include "school.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

static int reference_id(const char *text)
{
    size_t length = strlen(text);
    if (length < 1 || length > SCHOOL_ID_MAX)
        return 0;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int reference_clean(const char *text)
{
    size_t length = strlen(text);
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] == 0x7F)
            return 0;
    return fuzz_utf8_valid((const unsigned char *)text, length);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t capacity = size ? (size_t)data[0] * 4 : 0; /* 0..1020, then the text */
    char *text = fuzz_string(size ? data + 1 : data, size ? size - 1 : 0);
    size_t length = strlen(text);

    FUZZ_CHECK(id_is_valid(text) == reference_id(text), "id_is_valid(\"%s\") = %d", text,
               id_is_valid(text));
    FUZZ_CHECK(text_is_clean_utf8(text) == reference_clean(text),
               "text_is_clean_utf8 = %d, reference %d", text_is_clean_utf8(text),
               reference_clean(text));

    char *out = malloc(capacity ? capacity : 1);
    if (!out)
        abort();
    size_t used = json_escape(text, out, capacity);
    if (capacity == 0) {
        FUZZ_CHECK(used == 0, "wrote %zu bytes into no space", used);
    } else {
        FUZZ_CHECK(used < capacity && out[used] == '\0' && strlen(out) == used,
                   "json_escape returned %zu for capacity %zu", used, capacity);
        for (size_t i = 0; i < used; i++)
            FUZZ_CHECK((unsigned char)out[i] >= 0x20, "raw control byte 0x%02x in the output",
                       (unsigned char)out[i]);
        if (fuzz_utf8_valid((const unsigned char *)text, length))
            FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)out, used),
                       "json_escape cut a UTF-8 sequence (capacity %zu)", capacity);
        /* The escaped text, quoted, is a JSON string that reads back as a prefix of the input. */
        size_t quoted_size = used + 3;
        char *quoted = malloc(quoted_size);
        if (!quoted)
            abort();
        snprintf(quoted, quoted_size, "\"%s\"", out);
        cJSON *string = cJSON_Parse(quoted);
        FUZZ_CHECK(cJSON_IsString(string), "escaped text is not a JSON string: %s", quoted);
        FUZZ_CHECK(strncmp(string->valuestring, text, strlen(string->valuestring)) == 0,
                   "escaped text reads back differently");
        if (capacity > 6 * length)
            FUZZ_CHECK(strcmp(string->valuestring, text) == 0, "truncated although it fitted");
        cJSON_Delete(string);
        free(quoted);
    }
    free(out);

    /* The error document: code, message and field from arbitrary text. */
    char *body = json_error_body("fuzz_code", text, length % 2 ? text : NULL);
    FUZZ_CHECK(body != NULL, "json_error_body failed");
    cJSON *document = cJSON_Parse(body);
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(document, "error");
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(error, "message");
    FUZZ_CHECK(cJSON_IsString(message) && strcmp(message->valuestring, text) == 0,
               "error document does not carry the message: %s", body);
    if (fuzz_utf8_valid((const unsigned char *)text, length))
        FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)body, strlen(body)),
                   "valid UTF-8 in, invalid UTF-8 out");
    cJSON_Delete(document);
    cJSON_free(body);
    free(text);
    return 0;
}
