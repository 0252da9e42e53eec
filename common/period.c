/* period.c -- see period.h. */
#include "period.h"

#include <string.h>

int period_parse_n(const char *text, size_t length)
{
    if (!text || length != 4)
        return -1;
    int year = 0;
    for (size_t i = 0; i < 4; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        year = year * 10 + (text[i] - '0');
    }
    return year >= PERIOD_MIN && year <= PERIOD_MAX ? year : -1;
}

int period_parse(const char *text)
{
    return text ? period_parse_n(text, strlen(text)) : -1;
}
