/* keys.c -- see keys.h. */
#include "keys.h"

#include <stdio.h>

void keys_district(char *out, enum district_key kind, const char *district, int period)
{
    static const char *const suffixes[] = {"schools", "registry", "cells",   "state",
                                           "snap",    "periods",  "timeline"};
    int has_period = kind == KEY_DISTRICT_CELLS || kind == KEY_DISTRICT_STATE ||
                     kind == KEY_DISTRICT_SNAPSHOT || kind == KEY_DISTRICT_TIMELINE;
    if (has_period)
        snprintf(out, KEY_MAX, "edumon:{%s}:%s:%04d", district, suffixes[kind], period);
    else
        snprintf(out, KEY_MAX, "edumon:{%s}:%s", district, suffixes[kind]);
}

void keys_status(char *out, const char *entry_id)
{
    snprintf(out, KEY_MAX, "edumon:status:%s", entry_id);
}

void keys_idempotency(char *out, const char *school, const char *key_hash)
{
    snprintf(out, KEY_MAX, "edumon:idem:%s:%s", school, key_hash);
}

void keys_batch_marker(char *out, const char *random)
{
    snprintf(out, KEY_MAX, "edumon:batch:%s", random);
}
