/* csv.c -- see csv.h.
 *
 * The reader is one pass over the bytes with two states (inside quotes or not). Unescaped
 * field text is never longer than its source, so all fields fit in one buffer of the input's
 * length plus a terminator per field; the field pointers are collected in a growing array and
 * the records point into it once the pass is over (the array may move while it grows). */
#include "csv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
    const char *data;
    size_t length, position, line;
    struct csv_document *document;
    size_t field_count, field_capacity; /* every field of every record */
    size_t *field_offsets;              /* offset of each field in storage */
    size_t record_capacity;
    char *write; /* next free byte of storage */
    struct csv_error *error;
    size_t max_records;
};

static int parser_fail(struct parser *parser, size_t line, const char *message)
{
    parser->error->line = line;
    snprintf(parser->error->message, sizeof(parser->error->message), "%s", message);
    return -1;
}

static int push_field(struct parser *parser, const char *start)
{
    if (parser->field_count == parser->field_capacity) {
        size_t capacity = parser->field_capacity ? parser->field_capacity * 2 : 64;
        size_t *offsets = realloc(parser->field_offsets, capacity * sizeof(size_t));
        if (!offsets)
            return parser_fail(parser, parser->line, "out of memory");
        parser->field_offsets = offsets;
        parser->field_capacity = capacity;
    }
    parser->field_offsets[parser->field_count++] = (size_t)(start - parser->document->storage);
    *parser->write++ = '\0';
    return 0;
}

static int push_record(struct parser *parser, size_t line, size_t first_field)
{
    struct csv_document *document = parser->document;
    if (document->record_count == parser->max_records)
        return parser_fail(parser, line, "too many lines");
    if (document->record_count == parser->record_capacity) {
        size_t capacity = parser->record_capacity ? parser->record_capacity * 2 : 32;
        struct csv_record *records = realloc(document->records, capacity * sizeof(*records));
        if (!records)
            return parser_fail(parser, line, "out of memory");
        document->records = records;
        parser->record_capacity = capacity;
    }
    struct csv_record *record = &document->records[document->record_count++];
    record->line = line;
    record->field_count = parser->field_count - first_field;
    record->fields = NULL;
    return 0;
}

/* Consumes a line end at the current position (CRLF, LF or a lone CR); true when there was one. */
static bool take_line_end(struct parser *parser)
{
    const char *data = parser->data;
    if (parser->position >= parser->length)
        return false;
    if (data[parser->position] == '\r') {
        parser->position++;
        if (parser->position < parser->length && data[parser->position] == '\n')
            parser->position++;
    } else if (data[parser->position] == '\n') {
        parser->position++;
    } else {
        return false;
    }
    parser->line++;
    return true;
}

/* A quoted field: from after the opening quote to after the closing one. */
static int read_quoted(struct parser *parser, size_t record_line)
{
    const char *data = parser->data;
    for (;;) {
        if (parser->position >= parser->length)
            return parser_fail(parser, record_line, "a quoted field is never closed");
        char c = data[parser->position];
        if (c == '"') {
            if (parser->position + 1 < parser->length && data[parser->position + 1] == '"') {
                *parser->write++ = '"';
                parser->position += 2;
                continue;
            }
            parser->position++;
            return 0;
        }
        if (c == '\0')
            return parser_fail(parser, parser->line, "a NUL byte");
        if (c == '\r' || c == '\n') {
            /* A line break inside quotes belongs to the field, as written. */
            size_t start = parser->position;
            take_line_end(parser);
            for (size_t i = start; i < parser->position; i++)
                *parser->write++ = data[i];
            continue;
        }
        *parser->write++ = c;
        parser->position++;
    }
}

static int read_unquoted(struct parser *parser)
{
    const char *data = parser->data;
    while (parser->position < parser->length) {
        char c = data[parser->position];
        if (c == ',' || c == '\r' || c == '\n')
            return 0;
        if (c == '"')
            return parser_fail(parser, parser->line,
                               "a quote inside an unquoted field (quote the whole field)");
        if (c == '\0')
            return parser_fail(parser, parser->line, "a NUL byte");
        *parser->write++ = c;
        parser->position++;
    }
    return 0;
}

/* One record: fields separated by commas up to a line end or the end of the text. */
static int read_record(struct parser *parser)
{
    size_t record_line = parser->line, first_field = parser->field_count;
    for (;;) {
        char *start = parser->write;
        int result;
        if (parser->position < parser->length && parser->data[parser->position] == '"') {
            parser->position++;
            result = read_quoted(parser, record_line);
            if (result == 0 && parser->position < parser->length &&
                parser->data[parser->position] != ',' && parser->data[parser->position] != '\r' &&
                parser->data[parser->position] != '\n')
                result = parser_fail(parser, parser->line, "text after a closing quote");
        } else {
            result = read_unquoted(parser);
        }
        if (result != 0 || push_field(parser, start) != 0)
            return -1;
        if (parser->position < parser->length && parser->data[parser->position] == ',') {
            parser->position++;
            continue;
        }
        take_line_end(parser);
        return push_record(parser, record_line, first_field);
    }
}

static bool at_blank_line(const struct parser *parser)
{
    char c = parser->data[parser->position];
    return c == '\r' || c == '\n';
}

/* Points every record at its fields once the field array has stopped moving. */
static int link_fields(struct parser *parser)
{
    struct csv_document *document = parser->document;
    document->field_storage = malloc((parser->field_count + 1) * sizeof(char *));
    if (!document->field_storage)
        return parser_fail(parser, parser->line, "out of memory");
    for (size_t i = 0; i < parser->field_count; i++)
        document->field_storage[i] = document->storage + parser->field_offsets[i];
    size_t next = 0;
    for (size_t r = 0; r < document->record_count; r++) {
        document->records[r].fields = &document->field_storage[next];
        next += document->records[r].field_count;
    }
    return 0;
}

int csv_parse(const char *data, size_t length, size_t max_records, struct csv_document *out,
              struct csv_error *error)
{
    memset(out, 0, sizeof(*out));
    struct parser parser = {data, length, 0, 1, out, 0, 0, NULL, 0, NULL, error, max_records};
    if (length >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        parser.position = 3;
        out->had_bom = true;
    }
    /* Each byte yields at most one byte of text, and each field one terminator. */
    out->storage = malloc(2 * length + 2);
    int result = out->storage ? 0 : parser_fail(&parser, 1, "out of memory");
    parser.write = out->storage;
    while (result == 0 && parser.position < length) {
        if (at_blank_line(&parser))
            take_line_end(&parser);
        else
            result = read_record(&parser);
    }
    if (result == 0)
        result = link_fields(&parser);
    free(parser.field_offsets);
    if (result != 0) {
        csv_document_free(out);
        return -1;
    }
    return 0;
}

void csv_document_free(struct csv_document *document)
{
    free(document->records);
    free(document->storage);
    free(document->field_storage);
    memset(document, 0, sizeof(*document));
}

/* ---- writing --------------------------------------------------------------------------------
 */

static void append(struct csv_writer *writer, const char *text, size_t length)
{
    if (writer->failed)
        return;
    if (!writer->data || writer->length + length + 1 > writer->capacity) {
        size_t capacity = writer->capacity ? writer->capacity : 1024;
        while (writer->length + length + 1 > capacity)
            capacity *= 2;
        char *data = realloc(writer->data, capacity);
        if (!data) {
            writer->failed = true;
            return;
        }
        writer->data = data;
        writer->capacity = capacity;
    }
    memcpy(writer->data + writer->length, text, length);
    writer->length += length;
    writer->data[writer->length] = '\0';
}

void csv_writer_init(struct csv_writer *writer, bool bom)
{
    memset(writer, 0, sizeof(*writer));
    writer->row_empty = true;
    if (bom)
        append(writer, "\xEF\xBB\xBF", 3);
}

static void separate(struct csv_writer *writer)
{
    if (!writer->row_empty)
        append(writer, ",", 1);
    writer->row_empty = false;
}

void csv_write_text(struct csv_writer *writer, const char *text)
{
    separate(writer);
    if (!text)
        return;
    bool formula = text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@' ||
                   text[0] == '\t' || text[0] == '\r';
    bool quote = formula || strpbrk(text, ",\"\r\n") != NULL;
    if (!quote) {
        append(writer, text, strlen(text));
        return;
    }
    append(writer, "\"", 1);
    if (formula)
        append(writer, "'", 1);
    for (const char *p = text; *p; p++) {
        append(writer, p, 1);
        if (*p == '"')
            append(writer, "\"", 1); /* a quote is written twice */
    }
    append(writer, "\"", 1);
}

void csv_write_number(struct csv_writer *writer, double value)
{
    separate(writer);
    if (!isfinite(value))
        return;
    char text[32];
    snprintf(text, sizeof(text), "%.15g", value);
    if (strtod(text, NULL) != value)
        snprintf(text, sizeof(text), "%.17g", value);
    append(writer, text, strlen(text));
}

void csv_write_empty(struct csv_writer *writer)
{
    separate(writer);
}

void csv_end_row(struct csv_writer *writer)
{
    append(writer, "\r\n", 2);
    writer->row_empty = true;
}

char *csv_writer_finish(struct csv_writer *writer, size_t *length)
{
    if (!writer->data)
        append(writer, "", 0); /* an empty text is still a text */
    char *data = writer->data;
    writer->data = NULL;
    if (writer->failed) {
        free(data);
        return NULL;
    }
    *length = writer->length;
    return data;
}
