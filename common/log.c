/* log.c -- see log.h. Lines are assembled in one buffer and written with a single
 * fwrite so that lines from concurrent processes sharing stderr do not interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "jsonutil.h"

static const char *log_role = "edumon";
static enum log_level log_min_level = LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *role, enum log_level min_level)
{
    log_role = role;
    log_min_level = min_level;
}

int log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

bool log_enabled(enum log_level level)
{
    return level >= log_min_level;
}

static void log_emit(enum log_level level, const char *message, const char *fields)
{
    if (!log_enabled(level))
        return;
    char time_text[32];
    json_format_now(time_text, sizeof(time_text));
    char escaped[1024];
    json_escape(message, escaped, sizeof(escaped));
    char line[2048];
    int length = snprintf(
        line, sizeof(line),
        "{\"time\":\"%s\",\"level\":\"%s\",\"process\":\"%s\",\"msg\":\"%s\"%s%s}\n", time_text,
        level_names[level], log_role, escaped, fields && *fields ? "," : "", fields ? fields : "");
    if (length < 0)
        return;
    if ((size_t)length >= sizeof(line)) {
        /* Keep the line valid JSON even when truncated: drop the fields. */
        length = snprintf(line, sizeof(line),
                          "{\"time\":\"%s\",\"level\":\"%s\",\"process\":\"%s\",\"msg\":\"%s\","
                          "\"truncated\":true}\n",
                          time_text, level_names[level], log_role, escaped);
        if (length < 0 || (size_t)length >= sizeof(line))
            return;
    }
    fwrite(line, 1, (size_t)length, stderr);
}

void log_message(enum log_level level, const char *format, ...)
{
    if (!log_enabled(level))
        return;
    char message[900];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    log_emit(level, message, NULL);
}

void log_fields(enum log_level level, const char *message, const char *fields)
{
    log_emit(level, message, fields);
}
