/* period.h -- plan periods. A period is a plan year written "YYYY"; edumon accepts
 * 2000..2100 (plans of the seed districts run 2021..2025; history reaches back). */
#ifndef EDUMON_PERIOD_H
#define EDUMON_PERIOD_H

#include <stddef.h>

#define PERIOD_MIN 2000
#define PERIOD_MAX 2100

/* Parses exactly four digits within range. Returns the year, or -1 if invalid. */
int period_parse(const char *text);
int period_parse_n(const char *text, size_t length);

#endif
