/* csv.h -- comma-separated values as spreadsheets write them (RFC 4180), both ways.
 *
 * Reading takes the whole text at once (request bodies are bounded) and returns records of
 * NUL-terminated fields, each with the physical line it starts on, so an import can name the
 * line a person sees in their editor. What Excel and LibreOffice save is accepted: a UTF-8
 * byte-order mark, CRLF or LF (or a lone CR) line ends, quoted fields with "" for a quote and
 * line breaks inside quotes, blank lines (skipped). What they never write is refused with the
 * line: a quote inside an unquoted field, text after a closing quote, an unterminated quote,
 * a NUL byte. Fields are not trimmed or interpreted; that is the caller's business.
 *
 * Writing builds a growing buffer of CRLF rows, quoting only the fields that need it, and
 * defuses text that a spreadsheet would run as a formula (CSV injection, OWASP): text
 * beginning with = + - @ or a tab is prefixed with an apostrophe. Numbers are written plainly,
 * in the shortest form that reads back to the same double. */
#ifndef EDUMON_CSV_H
#define EDUMON_CSV_H

#include <stdbool.h>
#include <stddef.h>

struct csv_record {
    size_t line; /* 1-based physical line the record starts on */
    size_t field_count;
    char **fields; /* point into the document's storage */
};

struct csv_document {
    struct csv_record *records;
    size_t record_count;
    char *storage; /* owned: every field, unescaped and NUL-terminated */
    char **field_storage;
    bool had_bom;
};

struct csv_error {
    size_t line;
    char message[128];
};

/* Parses `length` bytes. Returns 0 with `out` filled (free with csv_document_free), or -1 with
 * `error` filled (nothing to free). At most `max_records` records are accepted. */
int csv_parse(const char *data, size_t length, size_t max_records, struct csv_document *out,
              struct csv_error *error);
void csv_document_free(struct csv_document *document);

struct csv_writer {
    char *data;
    size_t length, capacity;
    bool failed;    /* out of memory: everything after is dropped */
    bool row_empty; /* no field yet in the current row */
};

/* Starts a writer; with `bom` the text begins with the UTF-8 byte-order mark (what Excel needs
 * to read UTF-8 rather than the local code page). */
void csv_writer_init(struct csv_writer *writer, bool bom);
void csv_write_text(struct csv_writer *writer, const char *text);
void csv_write_number(struct csv_writer *writer, double value); /* NAN: empty field */
void csv_write_empty(struct csv_writer *writer);
void csv_end_row(struct csv_writer *writer);
/* Returns the text (caller frees with free()) and its length, or NULL when memory ran out. */
char *csv_writer_finish(struct csv_writer *writer, size_t *length);

#endif
