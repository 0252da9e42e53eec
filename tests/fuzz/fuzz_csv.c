/* fuzz_csv.c -- csv_parse (every CSV import body) and the CSV writer.
 *
 * A parsed document has terminated fields with non-decreasing line numbers and no NUL byte;
 * writing its records with the writer and parsing that gives the same records back, except
 * what the writer deliberately changes: a field a spreadsheet would run as a formula (first
 * character = + - @ tab CR) comes back with an apostrophe in front. (A record made of one
 * empty field is written as an empty line and so is not compared: the reader skips blank
 * lines by design.) */
#include "csv.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

static bool formula(const char *text)
{
    return text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@' ||
           text[0] == '\t' || text[0] == '\r';
}

static bool lone_empty(const struct csv_record *record)
{
    return record->field_count == 1 && record->fields[0][0] == '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct csv_document document;
    struct csv_error error;
    memset(&error, 0, sizeof(error));
    if (csv_parse((const char *)data, size, 5000, &document, &error) != 0) {
        FUZZ_CHECK(memchr(error.message, 0, sizeof(error.message)) && error.message[0],
                   "refusal without a message");
        FUZZ_CHECK(error.line >= 1, "refusal on line %zu", error.line);
        FUZZ_CHECK(document.records == NULL && document.storage == NULL, "refusal left memory");
        return 0;
    }
    size_t previous_line = 0;
    struct csv_writer writer;
    csv_writer_init(&writer, true);
    for (size_t r = 0; r < document.record_count; r++) {
        const struct csv_record *record = &document.records[r];
        FUZZ_CHECK(record->line >= 1 && record->line >= previous_line, "record %zu on line %zu", r,
                   record->line);
        FUZZ_CHECK(record->field_count >= 1, "record without fields");
        previous_line = record->line;
        for (size_t f = 0; f < record->field_count; f++) {
            size_t length = strlen(record->fields[f]);
            FUZZ_CHECK(length <= size, "field longer than the input");
            csv_write_text(&writer, record->fields[f]);
        }
        csv_end_row(&writer);
    }
    size_t length = 0;
    char *written = csv_writer_finish(&writer, &length);
    FUZZ_CHECK(written != NULL, "writer failed");
    struct csv_document again;
    FUZZ_CHECK(csv_parse(written, length, 1000000, &again, &error) == 0,
               "the writer's output is refused: line %zu: %s", error.line, error.message);
    size_t compared = 0;
    for (size_t r = 0; r < document.record_count; r++) {
        const struct csv_record *record = &document.records[r];
        if (lone_empty(record))
            continue;
        FUZZ_CHECK(compared < again.record_count, "records lost in the round trip");
        const struct csv_record *back = &again.records[compared++];
        FUZZ_CHECK(back->field_count == record->field_count, "record %zu: %zu fields, then %zu", r,
                   record->field_count, back->field_count);
        for (size_t f = 0; f < record->field_count; f++) {
            const char *original = record->fields[f], *copy = back->fields[f];
            if (formula(original))
                FUZZ_CHECK(copy[0] == '\'' && strcmp(copy + 1, original) == 0,
                           "formula field \"%s\" came back as \"%s\"", original, copy);
            else
                FUZZ_CHECK(strcmp(copy, original) == 0, "field \"%s\" came back as \"%s\"",
                           original, copy);
        }
    }
    FUZZ_CHECK(compared == again.record_count, "the round trip added records");
    csv_document_free(&again);
    free(written);
    csv_document_free(&document);
    return 0;
}
