/* school.c -- see school.h. */
#include "school.h"

#include <string.h>

#include <cjson/cJSON.h>

static const char *const stage_names[STAGE_COUNT] = {"kindergarten", "primary", "junior", "senior",
                                                     "vocational",   "special", "office"};
static const char *const ownership_names[OWNERSHIP_COUNT] = {"public", "private"};

int stage_parse(const char *name)
{
    for (int i = 0; name && i < STAGE_COUNT; i++)
        if (strcmp(name, stage_names[i]) == 0)
            return i;
    return -1;
}

const char *stage_name(enum stage stage)
{
    return stage < STAGE_COUNT ? stage_names[stage] : "unknown";
}

int ownership_parse(const char *name)
{
    for (int i = 0; name && i < OWNERSHIP_COUNT; i++)
        if (strcmp(name, ownership_names[i]) == 0)
            return i;
    return -1;
}

const char *ownership_name(enum ownership ownership)
{
    return ownership < OWNERSHIP_COUNT ? ownership_names[ownership] : "unknown";
}

bool id_is_valid(const char *text)
{
    size_t length = 0;
    if (!text)
        return false;
    for (const char *p = text; *p; p++, length++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok || length >= SCHOOL_ID_MAX)
            return false;
    }
    return length > 0;
}

/* Validates UTF-8 per RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF. */
bool text_is_clean_utf8(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        unsigned char c = *p;
        if (c < 0x20 || c == 0x7F)
            return false;
        if (c < 0x80) {
            p++;
            continue;
        }
        int extra;
        unsigned long code;
        if (c >= 0xC2 && c <= 0xDF)
            extra = 1, code = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            extra = 2, code = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            extra = 3, code = c & 0x07;
        else
            return false;
        for (int i = 1; i <= extra; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            code = (code << 6) | (p[i] & 0x3F);
        }
        if ((extra == 2 && code < 0x800) || (extra == 3 && code < 0x10000) || code > 0x10FFFF ||
            (code >= 0xD800 && code <= 0xDFFF))
            return false;
        p += extra + 1;
    }
    return true;
}

static int copy_string_field(const cJSON *object, const char *name, char *out, size_t capacity)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    if (!cJSON_IsString(item) || strlen(item->valuestring) >= capacity)
        return -1;
    memcpy(out, item->valuestring, strlen(item->valuestring) + 1);
    return 0;
}

int school_from_json(const char *json, size_t length, struct school *out)
{
    cJSON *root = cJSON_ParseWithLength(json, length);
    if (!root)
        return -1;
    memset(out, 0, sizeof(*out));
    char stage_text[32], ownership_text[32];
    int result = -1;
    if (copy_string_field(root, "id", out->id, sizeof(out->id)) == 0 &&
        copy_string_field(root, "district", out->district, sizeof(out->district)) == 0 &&
        copy_string_field(root, "name", out->name, sizeof(out->name)) == 0 &&
        copy_string_field(root, "stage", stage_text, sizeof(stage_text)) == 0 &&
        copy_string_field(root, "ownership", ownership_text, sizeof(ownership_text)) == 0) {
        int stage = stage_parse(stage_text);
        int ownership = ownership_parse(ownership_text);
        if (stage >= 0 && ownership >= 0) {
            out->stage = (enum stage)stage;
            out->ownership = (enum ownership)ownership;
            copy_string_field(root, "token_sha256", out->token_hash, sizeof(out->token_hash));
            result = 0;
        }
    }
    cJSON_Delete(root);
    return result;
}

char *school_to_json(const struct school *school, bool with_token_hash)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "id", school->id);
    cJSON_AddStringToObject(root, "name", school->name);
    cJSON_AddStringToObject(root, "district", school->district);
    cJSON_AddStringToObject(root, "stage", stage_name(school->stage));
    cJSON_AddStringToObject(root, "ownership", ownership_name(school->ownership));
    if (with_token_hash && school->token_hash[0])
        cJSON_AddStringToObject(root, "token_sha256", school->token_hash);
    char *printed = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return printed;
}
