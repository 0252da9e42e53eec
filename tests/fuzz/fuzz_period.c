/* fuzz_period.c -- period_parse_n / period_parse against the contract: exactly four ASCII
 * digits, 2000..2100; anything else is -1, and both entry points agree. */
#include "fuzz_common.h"
#include "period.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exactly sized copy: reading past `size` is an ASan report. */
    char *exact = malloc(size ? size : 1);
    if (!exact)
        abort();
    if (size)
        memcpy(exact, data, size);
    int year = period_parse_n(exact, size);
    int expected = -1;
    if (size == 4) {
        int value = 0, digits = 1;
        for (size_t i = 0; i < 4; i++) {
            if (data[i] < '0' || data[i] > '9')
                digits = 0;
            value = value * 10 + (data[i] - '0');
        }
        if (digits && value >= PERIOD_MIN && value <= PERIOD_MAX)
            expected = value;
    }
    FUZZ_CHECK(year == expected, "period_parse_n(%.*s) = %d, expected %d", (int)size, exact, year,
               expected);
    char *text = fuzz_string(data, size);
    int from_string = period_parse(text);
    size_t length = strlen(text);
    FUZZ_CHECK(from_string == period_parse_n(text, length), "period_parse(\"%s\") = %d disagrees",
               text, from_string);
    if (length == size)
        FUZZ_CHECK(from_string == year, "period_parse and period_parse_n disagree on \"%s\"", text);
    FUZZ_CHECK(period_parse(NULL) == -1 && period_parse_n(NULL, 4) == -1, "NULL accepted");
    free(text);
    free(exact);
    return 0;
}
