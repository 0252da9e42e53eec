/* consumer.c -- see consumer.h. */
#include "consumer.h"

#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aggregate.h"
#include "balance.h"
#include "jsonutil.h"
#include "keys.h"
#include "log.h"
#include "snapshot.h"
#include "submission.h"
#include "token.h"

#define STATUS_TTL_SECONDS "2592000" /* 30 days */

enum entry_kind { ENTRY_SUBMISSION, ENTRY_REGISTRY, ENTRY_POISON };

/* A parsed submission as a batch holds it: its values only (a struct submission has room for
 * SUBMISSION_MAX_VALUES, 8 KB, where 30 values take 480 bytes: 2 MB per batch of 256). */
struct entry_submission {
    char school[SCHOOL_ID_MAX + 1];
    int period;
    size_t value_count;
    struct submission_value values[];
};

struct parsed_entry {
    const char *id;
    enum entry_kind kind;
    struct district_state *state;
    struct entry_submission *submission; /* owned, ENTRY_SUBMISSION only */
    const char *body;                    /* borrowed from the reply */
    int school;                          /* index in the state's schools, when it is loaded */
    struct school *record; /* owned: the school's record when the state is not loaded */
    char reason[320];
};

struct batch {
    struct parsed_entry *entries;
    size_t count;
    bool out_of_memory; /* an entry could not be held: retry the batch rather than judge it */
    struct district_state **touched;
    size_t touched_count;
};

/* An entry applied and waiting for its district's store (see "holding entries" below): 16
 * bytes, ~110 000 of them at the national round's peak. The sequence part of an id Redis
 * generates counts entries added within one millisecond, so 32 bits are plenty. */
struct held_entry {
    unsigned long long ms; /* the stream id, "ms-seq" */
    unsigned seq;
    bool submission;
};

struct district_hold {
    struct held_entry *entries;
    size_t count, capacity;
    long long dirty_since_ms;
};

int consumer_init(struct consumer *consumer, const struct config *config,
                  const struct catalog *catalog, volatile const int *running)
{
    memset(consumer, 0, sizeof(*consumer));
    consumer->config = config;
    consumer->catalog = catalog;
    consumer->running = running;
    redis_link_init(&consumer->link, &config->redis);
    /* First trim a few seconds after start, then once a minute. */
    consumer->last_trim_ms = json_now_ms() - 55000;
    consumer->holds =
        calloc(catalog->district_count ? catalog->district_count : 1, sizeof(*consumer->holds));
    if (!consumer->holds)
        return -1;
    return district_cache_init(&consumer->cache, catalog, (size_t)config->cache_mb << 20);
}

void consumer_free(struct consumer *consumer)
{
    redis_link_close(&consumer->link);
    district_cache_free(&consumer->cache);
    for (size_t i = 0; consumer->holds && i < consumer->catalog->district_count; i++)
        free(consumer->holds[i].entries);
    free(consumer->holds);
    consumer->holds = NULL;
}

/* ---- reading entries ------------------------------------------------------------------------ */

static const char *entry_field(const redisReply *fields, const char *name, size_t *length)
{
    for (size_t i = 0; fields && i + 1 < fields->elements; i += 2) {
        if (fields->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(fields->element[i]->str, name) == 0) {
            if (length)
                *length = fields->element[i + 1]->len;
            return fields->element[i + 1]->str;
        }
    }
    return NULL;
}

static void mark_touched(struct batch *batch, struct district_state *state)
{
    for (size_t i = 0; i < batch->touched_count; i++)
        if (batch->touched[i] == state)
            return;
    batch->touched[batch->touched_count++] = state;
}

static void parse_entry(struct consumer *consumer, const redisReply *raw,
                        struct parsed_entry *entry, struct batch *batch)
{
    entry->kind = ENTRY_POISON;
    entry->school = -1;
    if (raw->type != REDIS_REPLY_ARRAY || raw->elements != 2 ||
        raw->element[0]->type != REDIS_REPLY_STRING) {
        snprintf(entry->reason, sizeof(entry->reason), "malformed stream entry");
        return;
    }
    entry->id = raw->element[0]->str;
    const redisReply *fields = raw->element[1];
    const char *type = entry_field(fields, "type", NULL);
    const char *district = entry_field(fields, "district", NULL);
    entry->state = district ? district_cache_get(&consumer->cache, district) : NULL;
    if (!type || !entry->state) {
        snprintf(entry->reason, sizeof(entry->reason), "unknown district \"%.64s\"",
                 district ? district : "");
        return;
    }
    mark_touched(batch, entry->state);
    if (strcmp(type, "registry") == 0) {
        entry->kind = ENTRY_REGISTRY;
        return;
    }
    size_t body_length = 0;
    entry->body = entry_field(fields, "body", &body_length);
    if (!entry->body) {
        snprintf(entry->reason, sizeof(entry->reason), "entry without a body");
        return;
    }
    struct api_error error;
    struct submission parsed;
    if (submission_parse(consumer->catalog, entry->body, body_length, &parsed, &error) != 0) {
        snprintf(entry->reason, sizeof(entry->reason), "%s: %s", error.code, error.message);
        return;
    }
    size_t values_size = parsed.value_count * sizeof(struct submission_value);
    entry->submission = malloc(sizeof(struct entry_submission) + values_size);
    if (!entry->submission) {
        /* Not the entry's fault: it stays pending and the batch is read again. */
        snprintf(entry->reason, sizeof(entry->reason), "out of memory");
        batch->out_of_memory = true;
        return;
    }
    memcpy(entry->submission->school, parsed.school, sizeof(parsed.school));
    entry->submission->period = parsed.period;
    entry->submission->value_count = parsed.value_count;
    memcpy(entry->submission->values, parsed.values, values_size);
    entry->kind = ENTRY_SUBMISSION;
}

/* Checks a submission against the (now current) registry of its district. */
static void authorize_entry(struct consumer *consumer, struct parsed_entry *entry)
{
    if (entry->kind != ENTRY_SUBMISSION)
        return;
    bool registered = entry->record != NULL;
    enum stage stage = registered ? entry->record->stage : STAGE_OFFICE;
    if (entry->state->loaded) {
        entry->school = district_state_find_school(entry->state, entry->submission->school);
        registered = entry->school >= 0;
        if (registered)
            stage = entry->state->schools[entry->school].stage;
    }
    if (!registered) {
        entry->kind = ENTRY_POISON;
        snprintf(entry->reason, sizeof(entry->reason), "school \"%s\" is not registered in %s",
                 entry->submission->school, entry->state->district->id);
        return;
    }
    struct api_error error;
    if (submission_values_authorize(consumer->catalog, entry->submission->values,
                                    entry->submission->value_count, stage, &error) != 0) {
        entry->kind = ENTRY_POISON;
        snprintf(entry->reason, sizeof(entry->reason), "%s: %s", error.code, error.message);
    }
}

/* ---- apply ------------------------------------------------------------------------------------
 */

struct argument_list {
    const char **argv;
    size_t *lengths;
    char **owned;
    int count, owned_count, capacity;
};

static int arguments_push(struct argument_list *list, const char *text, bool copy)
{
    if (list->count == list->capacity) {
        int capacity = list->capacity ? list->capacity * 2 : 64;
        const char **argv = realloc(list->argv, (size_t)capacity * sizeof(char *));
        if (argv)
            list->argv = argv;
        size_t *lengths = realloc(list->lengths, (size_t)capacity * sizeof(size_t));
        if (lengths)
            list->lengths = lengths;
        char **owned = realloc(list->owned, (size_t)capacity * sizeof(char *));
        if (owned)
            list->owned = owned;
        if (!argv || !lengths || !owned)
            return -1;
        list->capacity = capacity;
    }
    const char *stored = text;
    if (copy) {
        char *duplicate = strdup(text);
        if (!duplicate)
            return -1;
        list->owned[list->owned_count++] = duplicate;
        stored = duplicate;
    }
    list->argv[list->count] = stored;
    list->lengths[list->count] = strlen(stored);
    list->count++;
    return 0;
}

static void arguments_free(struct argument_list *list)
{
    for (int i = 0; i < list->owned_count; i++)
        free(list->owned[i]);
    free(list->owned);
    free(list->argv);
    free(list->lengths);
    memset(list, 0, sizeof(*list));
}

/* For the districts that are not loaded, reads only the records of the batch's schools (one
 * HMGET per district, pipelined), so that their entries are judged against the registry
 * without loading the district. Returns 0, or -1 (the batch then stays pending). */
static int fetch_records(struct consumer *consumer, struct batch *batch)
{
    struct district_state *sent[batch->touched_count + 1];
    size_t sent_count = 0;
    int failed = 0;
    for (size_t d = 0; d < batch->touched_count && !failed; d++) {
        struct district_state *state = batch->touched[d];
        if (state->loaded)
            continue;
        char key[KEY_MAX];
        keys_district(key, KEY_DISTRICT_SCHOOLS, state->district->id, 0);
        struct argument_list args = {0};
        failed |= arguments_push(&args, "HMGET", false) | arguments_push(&args, key, true);
        for (size_t i = 0; i < batch->count; i++)
            if (batch->entries[i].kind == ENTRY_SUBMISSION && batch->entries[i].state == state)
                failed |= arguments_push(&args, batch->entries[i].submission->school, false);
        if (!failed && args.count > 2) {
            redis_link_append(&consumer->link, args.count, args.argv, args.lengths);
            sent[sent_count++] = state;
        }
        arguments_free(&args);
    }
    for (size_t d = 0; d < sent_count; d++) {
        redisReply *reply = redis_link_reply(&consumer->link);
        if (!reply)
            return -1;
        size_t k = 0;
        for (size_t i = 0; i < batch->count && reply->type == REDIS_REPLY_ARRAY; i++) {
            struct parsed_entry *entry = &batch->entries[i];
            if (entry->kind != ENTRY_SUBMISSION || entry->state != sent[d])
                continue;
            const redisReply *json = k < reply->elements ? reply->element[k] : NULL;
            k++;
            if (!json || json->type != REDIS_REPLY_STRING)
                continue; /* not registered: judged so by authorize_entry */
            entry->record = malloc(sizeof(struct school));
            if (!entry->record) {
                failed = 1;
            } else if (school_from_json(json->str, json->len, entry->record) != 0) {
                free(entry->record);
                entry->record = NULL;
            }
        }
        if (reply->type != REDIS_REPLY_ARRAY)
            failed = 1;
        freeReplyObject(reply);
    }
    return failed ? -1 : 0;
}

/* A cell value as APPLY stores it: "%.17g" (which reads back exactly), whole numbers written
 * by hand -- the same digits, without printf's floating-point path. */
static void format_value(double value, char *out, size_t size)
{
    if (!json_format_whole(value, out, size))
        snprintf(out, size, "%.17g", value);
}

/* Whether entry `i` is the batch's first submission for `state` in its period: the APPLY
 * arguments (and the replay of its answer) group the values by district and period, in the
 * order those first entries appear. */
static bool opens_period_group(const struct batch *batch, size_t i,
                               const struct district_state *state)
{
    const struct parsed_entry *entry = &batch->entries[i];
    if (entry->kind != ENTRY_SUBMISSION || entry->state != state)
        return false;
    for (size_t j = 0; j < i; j++)
        if (batch->entries[j].kind == ENTRY_SUBMISSION && batch->entries[j].state == state &&
            batch->entries[j].submission->period == entry->submission->period)
            return false;
    return true;
}

/* Builds the APPLY call for one district: KEYS then ARGV (see scripts.h). With
 * `with_values` false it only checks (and if needed dumps) the district; with values it is
 * applied blind (never a dump: see handle_apply_reply). */
static int build_apply(struct consumer *consumer, struct batch *batch, struct district_state *state,
                       bool with_values, struct argument_list *keys, struct argument_list *args)
{
    const char *district = state->district->id;
    char key[KEY_MAX], text[64], cell[128];
    int failed = 0;
    keys_district(key, KEY_DISTRICT_STATE, district, 0);
    failed |= arguments_push(keys, key, true);
    keys_district(key, KEY_DISTRICT_PERIODS, district, 0);
    failed |= arguments_push(keys, key, true);
    keys_district(key, KEY_DISTRICT_REGISTRY, district, 0);
    failed |= arguments_push(keys, key, true);
    keys_district(key, KEY_DISTRICT_SCHOOLS, district, 0);
    failed |= arguments_push(keys, key, true);
    if (with_values)
        snprintf(text, sizeof(text), "blind");
    else
        snprintf(text, sizeof(text), "%lld", state->loaded ? state->cellsver : -1LL);
    failed |= arguments_push(args, text, true);
    snprintf(text, sizeof(text), "%lld", state->loaded ? state->registry : -1LL);
    failed |= arguments_push(args, text, true);
    snprintf(key, sizeof(key), "edumon:{%s}:cells:", district);
    failed |= arguments_push(args, key, true);
    if (!with_values)
        return failed;
    /* One group per period present in the batch for this district. */
    for (size_t i = 0; i < batch->count; i++) {
        if (!opens_period_group(batch, i, state))
            continue;
        int period = batch->entries[i].submission->period;
        keys_district(key, KEY_DISTRICT_CELLS, district, period);
        failed |= arguments_push(keys, key, true);
        snprintf(text, sizeof(text), "%04d", period);
        failed |= arguments_push(args, text, true);
        /* The count's place, filled in below; not owned, so that `owned` (as long as `argv`)
         * has room for the count's copy. */
        int count_slot = args->count;
        failed |= arguments_push(args, "0", false);
        int pairs = 0;
        for (size_t j = i; j < batch->count; j++) {
            struct parsed_entry *entry = &batch->entries[j];
            if (entry->kind != ENTRY_SUBMISSION || entry->state != state ||
                entry->submission->period != period)
                continue;
            for (size_t v = 0; v < entry->submission->value_count; v++) {
                const struct submission_value *value = &entry->submission->values[v];
                snprintf(key, sizeof(key), "%s/%s", entry->submission->school,
                         consumer->catalog->elements[value->element].id);
                failed |= arguments_push(args, key, true);
                /* the cell as stored: "<entry id> <value>" (ids have at most 41 characters) */
                size_t id_length = strlen(entry->id);
                if (id_length > 48)
                    return -1;
                memcpy(cell, entry->id, id_length);
                cell[id_length] = ' ';
                format_value(value->value, cell + id_length + 1, sizeof(cell) - id_length - 1);
                failed |= arguments_push(args, cell, true);
                pairs++;
            }
        }
        if (!failed) {
            snprintf(text, sizeof(text), "%d", pairs);
            char *count_text = strdup(text);
            if (!count_text)
                return -1;
            args->owned[args->owned_count++] = count_text;
            args->argv[count_slot] = count_text;
            args->lengths[count_slot] = strlen(count_text);
        }
    }
    return failed;
}

static void append_apply(struct consumer *consumer, struct batch *batch,
                         struct district_state *state, bool with_values, int *failed)
{
    struct argument_list keys = {0}, args = {0};
    if (build_apply(consumer, batch, state, with_values, &keys, &args) != 0) {
        *failed = 1;
    } else {
        struct argument_list all = {0};
        for (int i = 0; i < keys.count; i++)
            *failed |= arguments_push(&all, keys.argv[i], false);
        for (int i = 0; i < args.count; i++)
            *failed |= arguments_push(&all, args.argv[i], false);
        if (!*failed)
            redis_link_append_script(&consumer->link, SCRIPT_ID_APPLY, keys.count, all.count,
                                     all.argv, all.lengths);
        arguments_free(&all);
    }
    arguments_free(&keys);
    arguments_free(&args);
}

/* Replays the cells the script accepted (`accepted`: one '0'/'1' per value, in the order
 * build_apply sent them) into the loaded copy, so it stays equal to Redis. */
static int replay_locally(struct consumer *consumer, struct batch *batch,
                          struct district_state *state, const char *accepted, size_t length)
{
    size_t flag = 0;
    for (size_t i = 0; i < batch->count; i++) {
        if (!opens_period_group(batch, i, state))
            continue;
        int period = batch->entries[i].submission->period;
        for (size_t j = i; j < batch->count; j++) {
            struct parsed_entry *entry = &batch->entries[j];
            if (entry->kind != ENTRY_SUBMISSION || entry->state != state ||
                entry->submission->period != period)
                continue;
            for (size_t v = 0; v < entry->submission->value_count; v++, flag++) {
                const struct submission_value *value = &entry->submission->values[v];
                if (flag >= length)
                    return -1;
                if (accepted[flag] == '1' &&
                    district_state_set(&consumer->cache, state, period, (size_t)entry->school,
                                       (size_t)value->element, value->value) != 0)
                    return -1;
            }
        }
    }
    return flag == length ? 0 : -1;
}

/* After a blind APPLY with values: a district that is not loaded waits for its store to be
 * loaded; a loaded copy that was current replays the accepted writes; one that another writer
 * (another worker, a registration) moved meanwhile is dropped, and reloaded once when its
 * store comes due -- rather than dumped with every batch while two workers share it. */
static int replay_reply(struct consumer *consumer, struct batch *batch,
                        struct district_state *state, long long before, long long after,
                        long long registry, const redisReply *accepted)
{
    if (!state->loaded)
        return 0;
    if (before != state->cellsver || registry != state->registry) {
        district_cache_evict(&consumer->cache, state);
        return 0;
    }
    district_cache_touch(&consumer->cache, state);
    if (replay_locally(consumer, batch, state, accepted->str, accepted->len) != 0) {
        district_cache_evict(&consumer->cache, state); /* reload rather than trust a copy */
        return -1;
    }
    state->cellsver = after;
    return 0;
}

/* Handles one APPLY reply {before, after, registry, changed, dump, accepted}. */
static int handle_apply_reply(struct consumer *consumer, struct batch *batch,
                              struct district_state *state, const redisReply *reply,
                              bool with_values)
{
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 6 ||
        reply->element[4]->type != REDIS_REPLY_ARRAY ||
        reply->element[5]->type != REDIS_REPLY_STRING) {
        log_message(LOG_ERROR, "apply failed for %s: %s", state->district->id,
                    reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "bad reply");
        return -1;
    }
    long long before = reply->element[0]->integer, after = reply->element[1]->integer;
    long long registry = reply->element[2]->integer;
    if (with_values)
        return replay_reply(consumer, batch, state, before, after, registry, reply->element[5]);
    const redisReply *dump = reply->element[4];
    if (dump->elements > 0)
        return district_cache_load(&consumer->cache, state, dump, after, registry);
    if (!state->loaded)
        return -1;
    district_cache_touch(&consumer->cache, state);
    return 0;
}

/* Reads the replies of `count` APPLYs queued for `states`, in order; `result` -1 (a failure
 * while queueing) still reads them all, to stay in step. Returns 0, or -1. */
static int read_apply_replies(struct consumer *consumer, struct batch *batch,
                              struct district_state *const *states, size_t count, bool with_values,
                              int result)
{
    for (size_t i = 0; i < count; i++) {
        redisReply *reply = redis_link_reply(&consumer->link);
        if (!reply)
            return -1;
        if (redis_link_is_noscript(reply)) {
            redis_link_load_scripts(&consumer->link);
            result = -1;
        } else if (result == 0 &&
                   handle_apply_reply(consumer, batch, states[i], reply, with_values) != 0) {
            result = -1;
        }
        freeReplyObject(reply);
        /* A replay may give a copy a new period (~45 KB for 190 schools): over a batch that
         * spans 256 districts, 11 MB above the budget if the trim waited for the batch's end.
         * Safe here: a copy evicted before its reply is read is simply not replayed (its
         * cells are in Redis; it is loaded again for its store). Check-only rounds are not
         * trimmed: they rely on the copies they checked staying loaded. */
        if (with_values)
            district_cache_trim(&consumer->cache);
    }
    return result;
}

/* Sends APPLY for every touched district in one pipeline and digests the replies. */
static int apply_round(struct consumer *consumer, struct batch *batch, bool with_values)
{
    int failed = 0;
    for (size_t i = 0; i < batch->touched_count; i++)
        append_apply(consumer, batch, batch->touched[i], with_values, &failed);
    return read_apply_replies(consumer, batch, batch->touched, batch->touched_count, with_values,
                              failed ? -1 : 0);
}

/* ---- snapshots --------------------------------------------------------------------------------
 */

static char *render_values(const struct catalog *catalog, const double *values)
{
    cJSON *object = cJSON_CreateObject();
    for (size_t i = 0; i < catalog->indicator_count; i++) {
        if (isnan(values[i]))
            cJSON_AddNullToObject(object, catalog->indicators[i].id);
        else
            json_add_number(object, catalog->indicators[i].id, values[i]);
    }
    char *printed = cJSON_PrintUnformatted(object);
    cJSON_Delete(object);
    return printed;
}

/* The period's balanced-development evaluation (balance.h), stored next to the snapshot; ""
 * when the catalog has none. Caller frees with cJSON_free(); NULL when out of memory. */
static char *render_balance(const struct catalog *catalog, const struct district *district,
                            int period, const struct figures *figures)
{
    if (!catalog->balance_rules) {
        char *empty = cJSON_malloc(1);
        if (empty)
            empty[0] = '\0';
        return empty;
    }
    struct balance_input input = {catalog, district, period, figures};
    cJSON *document = balance_build(&input);
    char *printed = json_print(document);
    cJSON_Delete(document);
    return printed;
}

/* One digest over both documents, so that a change of either bumps the version. */
static int digest_documents(const char *body, const char *balance, char *digest)
{
    size_t body_length = strlen(body), balance_length = strlen(balance);
    char *both = malloc(body_length + balance_length + 2);
    if (!both)
        return -1;
    memcpy(both, body, body_length);
    both[body_length] = '\n';
    memcpy(both + body_length + 1, balance, balance_length);
    both[body_length + 1 + balance_length] = '\0';
    token_hash(both, body_length + 1 + balance_length, digest);
    free(both);
    return 0;
}

/* Computes every period of the district in ascending order (later periods depend on earlier
 * ones through change-per-year and cumulative targets) and queues one STORE per period.
 * Returns the number of STOREs queued, or -1. */
static int append_district_stores(struct consumer *consumer, struct district_state *state)
{
    const struct catalog *catalog = consumer->catalog;
    if (!state->loaded)
        return -1;
    struct period_values *history = calloc(state->period_count + 1, sizeof(struct period_values));
    if (!history)
        return -1;
    char updated_at[32];
    json_format_now(updated_at, sizeof(updated_at));
    int queued = 0;
    for (size_t p = 0; p < state->period_count; p++) {
        struct period_state *slot = &state->periods[p];
        struct figures figures;
        if (district_state_figures(&consumer->cache, state, p, &figures) != 0) {
            free(history);
            return -1;
        }
        struct snapshot_input input = {catalog,  state->district, slot->period,
                                       &figures, history,         p};
        cJSON *document = snapshot_build(&input, slot->indicator_values);
        history[p] = (struct period_values){slot->period, slot->indicator_values};
        char *body = json_print(document);
        char *values = render_values(catalog, slot->indicator_values);
        char *balance = render_balance(catalog, state->district, slot->period, &figures);
        cJSON_Delete(document);
        if (!body || !values || !balance) {
            cJSON_free(body);
            cJSON_free(values);
            cJSON_free(balance);
            free(history);
            return -1;
        }
        char digest[TOKEN_HASH_LENGTH + 1], source[32], period[8];
        char snapshot_key[KEY_MAX], timeline_key[KEY_MAX];
        if (digest_documents(body, balance, digest) != 0) {
            cJSON_free(body);
            cJSON_free(values);
            cJSON_free(balance);
            free(history);
            return -1;
        }
        snprintf(source, sizeof(source), "%lld", state->cellsver);
        snprintf(period, sizeof(period), "%04d", slot->period);
        keys_district(snapshot_key, KEY_DISTRICT_SNAPSHOT, state->district->id, slot->period);
        keys_district(timeline_key, KEY_DISTRICT_TIMELINE, state->district->id, slot->period);
        const char *argv[] = {snapshot_key, timeline_key,      source, digest,
                              body,         updated_at,        values, state->district->id,
                              period,       CHANNEL_SNAPSHOTS, balance};
        redis_link_append_script(&consumer->link, SCRIPT_ID_STORE, 2, 11, argv, NULL);
        cJSON_free(body);
        cJSON_free(values);
        cJSON_free(balance);
        queued++;
    }
    free(history);
    return queued;
}

/* Reads the replies of `queued` STOREs. */
static int read_stores(struct consumer *consumer, int queued)
{
    int result = 0;
    for (int i = 0; i < queued; i++) {
        redisReply *reply = redis_link_reply(&consumer->link);
        if (!reply)
            return -1;
        if (reply->type != REDIS_REPLY_INTEGER) {
            log_message(LOG_ERROR, "store failed: %s",
                        reply->type == REDIS_REPLY_ERROR ? reply->str : "bad reply");
            if (redis_link_is_noscript(reply))
                redis_link_load_scripts(&consumer->link);
            result = -1;
        } else {
            consumer->stats.snapshots_stored++;
        }
        freeReplyObject(reply);
    }
    return result;
}

/* Districts whose STOREs are pipelined together: a STORE carries ~150 KB (snapshot and balance
 * documents), so a pass over thousands of districts must not sit in the output buffer at once. */
#define STORE_CHUNK 8

/* Loads the districts of `states` that are not loaded with check-only APPLYs (the script
 * dumps them), pipelined; each dump is read and digested before the next, so only one is held
 * at a time. */
static int load_by_script(struct consumer *consumer, struct district_state *const *states,
                          size_t count)
{
    struct batch none = {0};
    struct district_state *sent[STORE_CHUNK];
    size_t sent_count = 0;
    int failed = 0;
    for (size_t i = 0; i < count && sent_count < STORE_CHUNK; i++) {
        if (states[i]->loaded)
            continue;
        append_apply(consumer, &none, states[i], false, &failed);
        if (failed)
            break;
        sent[sent_count++] = states[i];
    }
    return read_apply_replies(consumer, &none, sent, sent_count, false, failed ? -1 : 0);
}

static void tend_heap(struct consumer *consumer);

/* ---- loading a district before its store --------------------------------------------------
 *
 * A district that is not loaded when its store comes due is read with plain commands in one
 * MULTI/EXEC (cellsver, registry version, schools, periods, the cells of each period), which
 * is as atomic as the APPLY script's dump but ~3x cheaper for Redis: a dump made inside Lua
 * converts every field into a Lua string and back (HGETALL of a 5 700-field cells hash: 0.5 ms
 * plain, 1.8 ms through EVAL). The periods to read are learnt first (ZRANGE, pipelined for the
 * chunk); should a period appear in between -- the ZRANGE inside the transaction disagrees --
 * the district is loaded through the script instead. */

/* Queues MULTI … EXEC reading one district. Returns the number of replies to read, or -1. */
static int append_load_transaction(struct consumer *consumer, const struct district_state *state,
                                   const redisReply *periods)
{
    const char *district = state->district->id;
    char state_key[KEY_MAX], registry_key[KEY_MAX], schools_key[KEY_MAX], periods_key[KEY_MAX];
    keys_district(state_key, KEY_DISTRICT_STATE, district, 0);
    keys_district(registry_key, KEY_DISTRICT_REGISTRY, district, 0);
    keys_district(schools_key, KEY_DISTRICT_SCHOOLS, district, 0);
    keys_district(periods_key, KEY_DISTRICT_PERIODS, district, 0);
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    const char *cellsver[] = {"HGET", state_key, "cellsver"}, *registry[] = {"GET", registry_key};
    const char *schools[] = {"HGETALL", schools_key};
    const char *members[] = {"ZRANGE", periods_key, "0", "-1"};
    redis_link_append(&consumer->link, 1, multi, NULL);
    redis_link_append(&consumer->link, 3, cellsver, NULL);
    redis_link_append(&consumer->link, 2, registry, NULL);
    redis_link_append(&consumer->link, 2, schools, NULL);
    redis_link_append(&consumer->link, 4, members, NULL);
    for (size_t p = 0; p < periods->elements; p++) {
        char cells_key[KEY_MAX];
        snprintf(cells_key, sizeof(cells_key), "edumon:{%s}:cells:%s", district,
                 periods->element[p]->str ? periods->element[p]->str : "");
        const char *cells[] = {"HGETALL", cells_key};
        redis_link_append(&consumer->link, 2, cells, NULL);
    }
    redis_link_append(&consumer->link, 1, exec, NULL);
    return 6 + (int)periods->elements;
}

static bool same_periods(const redisReply *left, const redisReply *right)
{
    if (left->type != REDIS_REPLY_ARRAY || right->type != REDIS_REPLY_ARRAY ||
        left->elements != right->elements)
        return false;
    for (size_t i = 0; i < left->elements; i++)
        if (!left->element[i]->str || !right->element[i]->str ||
            strcmp(left->element[i]->str, right->element[i]->str) != 0)
            return false;
    return true;
}

static long long reply_number(const redisReply *reply)
{
    return reply->type == REDIS_REPLY_STRING ? atoll(reply->str) : 0;
}

/* Digests one EXEC answer {cellsver, registry, schools, periods, cells…}: 0 loaded, 1 the
 * periods moved (load it through the script), -1 error. */
static int load_from_transaction(struct consumer *consumer, struct district_state *state,
                                 const redisReply *periods, const redisReply *answer)
{
    if (!answer || answer->type != REDIS_REPLY_ARRAY || answer->elements != 4 + periods->elements)
        return -1;
    if (!same_periods(periods, answer->element[3]))
        return 1;
    redisReply **parts = malloc((2 + periods->elements) * sizeof(redisReply *));
    if (!parts)
        return -1;
    parts[0] = answer->element[2];
    parts[1] = answer->element[3];
    for (size_t p = 0; p < periods->elements; p++)
        parts[2 + p] = answer->element[4 + p];
    redisReply dump = {
        .type = REDIS_REPLY_ARRAY, .elements = 2 + periods->elements, .element = parts};
    int result =
        district_cache_load(&consumer->cache, state, &dump, reply_number(answer->element[0]),
                            reply_number(answer->element[1]));
    free(parts);
    return result;
}

/* Reads `count` replies of a pipeline, keeping only the last (EXEC's). NULL on error. */
static redisReply *read_transaction(struct consumer *consumer, int count)
{
    redisReply *last = NULL;
    for (int i = 0; i < count; i++) {
        redisReply *reply = redis_link_reply(&consumer->link);
        if (!reply) {
            if (last)
                freeReplyObject(last);
            return NULL;
        }
        if (last)
            freeReplyObject(last);
        last = reply;
    }
    return last;
}

/* Loads the districts of `states` (at most STORE_CHUNK) that are not loaded. */
static int load_districts(struct consumer *consumer, struct district_state *const *states,
                          size_t count)
{
    struct district_state *pending[STORE_CHUNK], *moved[STORE_CHUNK];
    redisReply *periods[STORE_CHUNK];
    size_t pending_count = 0, moved_count = 0;
    for (size_t i = 0; i < count && pending_count < STORE_CHUNK; i++) {
        if (states[i]->loaded)
            continue;
        char key[KEY_MAX];
        keys_district(key, KEY_DISTRICT_PERIODS, states[i]->district->id, 0);
        const char *argv[] = {"ZRANGE", key, "0", "-1"};
        redis_link_append(&consumer->link, 4, argv, NULL);
        pending[pending_count++] = states[i];
    }
    int result = 0;
    for (size_t i = 0; i < pending_count; i++) {
        periods[i] = redis_link_reply(&consumer->link);
        if (!periods[i] || periods[i]->type != REDIS_REPLY_ARRAY) {
            for (size_t j = 0; j <= i; j++)
                if (periods[j])
                    freeReplyObject(periods[j]);
            return -1; /* the link is closed, or out of step: start afresh */
        }
    }
    int replies[STORE_CHUNK];
    for (size_t i = 0; i < pending_count; i++)
        replies[i] = append_load_transaction(consumer, pending[i], periods[i]);
    for (size_t i = 0; i < pending_count; i++) {
        redisReply *answer = read_transaction(consumer, replies[i]);
        int loaded = answer ? load_from_transaction(consumer, pending[i], periods[i], answer) : -1;
        if (loaded == 1)
            moved[moved_count++] = pending[i];
        else if (loaded != 0)
            result = -1;
        if (answer)
            freeReplyObject(answer);
        else
            result = -1;
        freeReplyObject(periods[i]);
        if (!answer) {
            for (size_t j = i + 1; j < pending_count; j++)
                freeReplyObject(periods[j]);
            return -1;
        }
    }
    if (result == 0 && moved_count > 0)
        result = load_by_script(consumer, moved, moved_count);
    return result;
}

/* Recomputes and stores every period of each district in `states`, pipelined by chunks; the
 * cache is trimmed back to its budget after each chunk. */
static int store_districts(struct consumer *consumer, struct district_state *const *states,
                           size_t count)
{
    for (size_t first = 0; first < count; first += STORE_CHUNK) {
        size_t chunk = count - first < STORE_CHUNK ? count - first : STORE_CHUNK;
        if (load_districts(consumer, states + first, chunk) != 0)
            return -1;
        int queued = 0, failed = 0;
        for (size_t i = first; i < count && i < first + STORE_CHUNK && !failed; i++) {
            int district_queued = append_district_stores(consumer, states[i]);
            if (district_queued < 0)
                failed = 1;
            else
                queued += district_queued;
            /* Redis runs this district's STOREs while the next one is computed (the replies
             * are read once the chunk is done). A failed write closes the link: read_stores
             * then fails and the batch is retried. */
            if (!failed)
                (void)redis_link_flush(&consumer->link);
        }
        if (failed) {
            /* Out of memory part-way through a district: some of its STOREs may be queued
             * uncounted. Start afresh on a new connection rather than read out of step. */
            redis_link_close(&consumer->link);
            return -1;
        }
        if (read_stores(consumer, queued) != 0)
            return -1;
        district_cache_trim(&consumer->cache);
        tend_heap(consumer);
    }
    return 0;
}

/* ---- poison entries -----------------------------------------------------------------------------
 */

static long long delivery_count(struct consumer *consumer, const char *id)
{
    const char *argv[] = {"XPENDING", KEY_STREAM, STREAM_GROUP, id, id, "1"};
    redisReply *reply = redis_link_command(&consumer->link, 6, argv, NULL);
    long long deliveries = 0;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
        reply->element[0]->type == REDIS_REPLY_ARRAY && reply->element[0]->elements == 4)
        deliveries = reply->element[0]->element[3]->integer;
    if (reply)
        freeReplyObject(reply);
    return deliveries;
}

/* Moves an entry that failed too often to the dead-letter stream, records why, and
 * acknowledges it (the Redis documentation's dead-letter pattern). Returns 1 when moved. */
static int dead_letter(struct consumer *consumer, struct parsed_entry *entry)
{
    if (!entry->id || delivery_count(consumer, entry->id) < consumer->config->max_deliveries)
        return 0;
    char status_key[KEY_MAX], status[400];
    keys_status(status_key, entry->id);
    snprintf(status, sizeof(status), "rejected %s", entry->reason);
    const char *add[] = {"XADD",        KEY_DEAD_LETTER, "MAXLEN",
                         "~",           "100000",        "*",
                         "entry",       entry->id,       "reason",
                         entry->reason, "body",          entry->body ? entry->body : ""};
    const char *set[] = {"SET", status_key, status, "EX", STATUS_TTL_SECONDS};
    const char *ack[] = {"XACK", KEY_STREAM, STREAM_GROUP, entry->id};
    redis_link_append(&consumer->link, 12, add, NULL);
    redis_link_append(&consumer->link, 5, set, NULL);
    redis_link_append(&consumer->link, 4, ack, NULL);
    int ok = 1;
    for (int i = 0; i < 3; i++) {
        redisReply *reply = redis_link_reply(&consumer->link);
        if (!reply || reply->type == REDIS_REPLY_ERROR)
            ok = 0;
        if (reply)
            freeReplyObject(reply);
    }
    if (ok) {
        consumer->stats.dead_lettered++;
        log_message(LOG_WARN, "entry %s moved to the dead-letter stream: %s", entry->id,
                    entry->reason);
    }
    return ok;
}

/* ---- holding entries until their district is stored --------------------------------------
 *
 * An entry is applied (its cells written) at once, but its district's snapshots are recomputed
 * and stored, and the entry acknowledged, only when the district is flushed: at the end of
 * every batch when the worker has caught up with the stream (a batch shorter than the batch
 * size), and otherwise once the district has been waiting for COALESCE_MAX_MS (60 s), so that
 * under a backlog a district that many entries touch is recomputed once per window instead of
 * once per batch. A held entry stays pending in the group: if the worker dies it is delivered
 * again (to this worker from its own pending list, or to another by XAUTOCLAIM) and applying it
 * again changes nothing. So that XAUTOCLAIM does not hand a live worker's held entries to
 * another however long the window, the worker resets their idle time every half claim idle
 * time (refresh_holds: XCLAIM by itself, JUSTID, which leaves the delivery count alone). The
 * window used to be half the claim idle time (at most 15 s): the national round then stored
 * every district ~13 times (34 000-41 000 stores); with 60 s, ~6 times (16 840). */

#define COALESCE_MAX_MS  60000
#define HOLD_LIMIT       200000 /* entries held in all (~3 MB); beyond, every district is flushed */
#define HOLD_KEPT        16     /* a district's list keeps its memory up to this many entries */
#define ACK_CHUNK        1000   /* ids per XACK */
#define ACK_PIPELINE     1024   /* commands acknowledging sent before their replies are read */
#define REFRESH_PIPELINE 16     /* the same for refresh_holds' XCLAIMs */

static struct district_hold *hold_of(struct consumer *consumer, const struct district_state *state)
{
    return &consumer->holds[state - consumer->cache.states];
}

/* Forgets what is held (after a failure: it is all still pending and will be read again). */
static void drop_holds(struct consumer *consumer)
{
    for (size_t i = 0; i < consumer->catalog->district_count; i++) {
        consumer->holds[i].count = 0;
        consumer->holds[i].dirty_since_ms = 0;
    }
    consumer->held_total = 0;
}

/* Parses "1700000000000-3". Returns 0, or -1. */
static int parse_stream_id(const char *text, struct held_entry *out)
{
    char *end = NULL;
    out->ms = strtoull(text, &end, 10);
    if (end == text || *end != '-')
        return -1;
    const char *sequence = end + 1;
    unsigned long long seq = strtoull(sequence, &end, 10);
    if (end == sequence || *end || seq > UINT_MAX)
        return -1;
    out->seq = (unsigned)seq;
    return 0;
}

static int hold_entry(struct consumer *consumer, const struct parsed_entry *entry)
{
    struct district_hold *hold = hold_of(consumer, entry->state);
    if (hold->count == hold->capacity) {
        size_t capacity = hold->capacity ? hold->capacity * 2 : 8;
        struct held_entry *grown = realloc(hold->entries, capacity * sizeof(*grown));
        if (!grown)
            return -1;
        hold->entries = grown;
        hold->capacity = capacity;
    }
    struct held_entry *held = &hold->entries[hold->count];
    if (parse_stream_id(entry->id, held) != 0)
        return -1; /* not an id Redis gives: leave the batch pending */
    hold->count++;
    held->submission = entry->kind == ENTRY_SUBMISSION;
    if (!hold->dirty_since_ms)
        hold->dirty_since_ms = json_now_ms();
    consumer->held_total++;
    if (consumer->held_total > consumer->stats.held_peak)
        consumer->stats.held_peak = consumer->held_total;
    return 0;
}

/* Holds every applied entry of the batch (poison ones stay pending, unheld). */
static int hold_batch(struct consumer *consumer, const struct batch *batch)
{
    for (size_t i = 0; i < batch->count; i++) {
        const struct parsed_entry *entry = &batch->entries[i];
        if (entry->kind != ENTRY_POISON && entry->id && hold_entry(consumer, entry) != 0)
            return -1;
    }
    return 0;
}

/* Reads `count` replies of simple commands. Returns 0, 1 when one was an error, or -1 when
 * the link failed (the rest cannot be read). */
static int read_simple_replies(struct consumer *consumer, int count)
{
    int result = 0;
    for (int i = 0; i < count; i++) {
        redisReply *reply = redis_link_reply(&consumer->link);
        if (!reply)
            return -1;
        if (reply->type == REDIS_REPLY_ERROR)
            result = 1;
        freeReplyObject(reply);
    }
    return result;
}

/* Reads the `*sent` replies in flight and folds them into `*replies` (-1 once the link failed,
 * else 1 once one was an error); `*sent` becomes 0. */
static void collect_replies(struct consumer *consumer, int *sent, int *replies)
{
    int read = read_simple_replies(consumer, *sent);
    *replies = read < 0 ? -1 : *replies | read;
    *sent = 0;
}

/* Records "applied" for the held submissions of `states` and acknowledges their entries, in
 * pipelines of ACK_PIPELINE commands: a catch-up flush acknowledges up to HOLD_LIMIT entries,
 * and queuing all their SETs at once held ~70 bytes each in hiredis's output buffer (14 MB). */
static int acknowledge_districts(struct consumer *consumer, struct district_state *const *states,
                                 size_t count)
{
    int sent = 0, failed = 0, replies = 0;
    struct argument_list ack = {0};
    for (size_t d = 0; d < count && replies >= 0; d++) {
        const struct district_hold *hold = hold_of(consumer, states[d]);
        for (size_t i = 0; i < hold->count && replies >= 0; i++) {
            const struct held_entry *held = &hold->entries[i];
            char id[48];
            snprintf(id, sizeof(id), "%llu-%u", held->ms, held->seq);
            if (held->submission) {
                char status_key[KEY_MAX];
                keys_status(status_key, id);
                const char *set[] = {"SET", status_key, "applied", "EX", STATUS_TTL_SECONDS};
                redis_link_append(&consumer->link, 5, set, NULL);
                sent++;
            }
            if (ack.count == 0)
                failed |= arguments_push(&ack, "XACK", false) |
                          arguments_push(&ack, KEY_STREAM, false) |
                          arguments_push(&ack, STREAM_GROUP, false);
            failed |= arguments_push(&ack, id, true);
            if (ack.count >= 3 + ACK_CHUNK) {
                if (!failed) {
                    redis_link_append(&consumer->link, ack.count, ack.argv, ack.lengths);
                    sent++;
                }
                arguments_free(&ack);
                ack = (struct argument_list){0};
            }
            if (sent >= ACK_PIPELINE)
                collect_replies(consumer, &sent, &replies);
        }
    }
    if (replies >= 0 && ack.count > 3 && !failed) {
        redis_link_append(&consumer->link, ack.count, ack.argv, ack.lengths);
        sent++;
    }
    arguments_free(&ack);
    if (replies >= 0)
        collect_replies(consumer, &sent, &replies);
    return failed || replies != 0 ? -1 : 0;
}

/* Resets the idle time of every held entry: XCLAIM by this consumer, min idle 0, JUSTID (which
 * does not count as a delivery), ACK_CHUNK ids per command, REFRESH_PIPELINE commands in
 * flight (each reply lists its ids: ~25 KB to read).
 * An entry another worker has meanwhile claimed comes back here; both apply it, which changes
 * nothing. Returns 0, or -1 when the link failed or Redis refused. */
static int refresh_holds(struct consumer *consumer)
{
    if (consumer->held_total == 0)
        return 0;
    int sent = 0, failed = 0, replies = 0;
    struct argument_list claim = {0};
    for (size_t d = 0; d < consumer->catalog->district_count && replies >= 0 && !failed; d++) {
        const struct district_hold *hold = &consumer->holds[d];
        for (size_t i = 0; i < hold->count && replies >= 0 && !failed; i++) {
            char id[48];
            snprintf(id, sizeof(id), "%llu-%u", hold->entries[i].ms, hold->entries[i].seq);
            if (claim.count == 0)
                failed |= arguments_push(&claim, "XCLAIM", false) |
                          arguments_push(&claim, KEY_STREAM, false) |
                          arguments_push(&claim, STREAM_GROUP, false) |
                          arguments_push(&claim, consumer->config->consumer, false) |
                          arguments_push(&claim, "0", false);
            failed |= arguments_push(&claim, id, true);
            if (claim.count >= 5 + ACK_CHUNK) {
                failed |= arguments_push(&claim, "JUSTID", false);
                if (!failed) {
                    redis_link_append(&consumer->link, claim.count, claim.argv, claim.lengths);
                    sent++;
                }
                arguments_free(&claim);
            }
            if (sent >= REFRESH_PIPELINE)
                collect_replies(consumer, &sent, &replies);
        }
    }
    if (replies >= 0 && claim.count > 5 && !failed) {
        failed |= arguments_push(&claim, "JUSTID", false);
        if (!failed) {
            redis_link_append(&consumer->link, claim.count, claim.argv, claim.lengths);
            sent++;
        }
    }
    arguments_free(&claim);
    if (replies >= 0)
        collect_replies(consumer, &sent, &replies);
    return failed || replies != 0 ? -1 : 0;
}

/* Stores and acknowledges the districts that are due (all of them when `all`). */
static int flush_holds(struct consumer *consumer, bool all)
{
    if (consumer->held_total == 0)
        return 0;
    size_t district_count = consumer->catalog->district_count;
    struct district_state **due = malloc(district_count * sizeof(struct district_state *));
    if (!due)
        return -1;
    long long now = json_now_ms(), window = COALESCE_MAX_MS;
    size_t due_count = 0;
    for (size_t i = 0; i < district_count; i++) {
        const struct district_hold *hold = &consumer->holds[i];
        if (hold->count > 0 && (all || now - hold->dirty_since_ms >= window))
            due[due_count++] = &consumer->cache.states[i];
    }
    int result = 0;
    if (due_count > 0 && (store_districts(consumer, due, due_count) != 0 ||
                          acknowledge_districts(consumer, due, due_count) != 0))
        result = -1;
    for (size_t d = 0; d < due_count && result == 0; d++) {
        struct district_hold *hold = hold_of(consumer, due[d]);
        consumer->held_total -= hold->count;
        hold->count = 0;
        hold->dirty_since_ms = 0;
        if (hold->capacity > HOLD_KEPT) {
            /* a big backlog's lists are not kept for thousands of districts */
            free(hold->entries);
            hold->entries = NULL;
            hold->capacity = 0;
        }
    }
    free(due);
    return result;
}

/* ---- one batch --------------------------------------------------------------------------------
 */

/* Whether a loaded district's registry must be checked before its entries are judged (one that
 * is not loaded has its records read instead: fetch_records). */
static bool needs_sync(const struct batch *batch, const struct district_state *state)
{
    if (!state->loaded)
        return false;
    for (size_t i = 0; i < batch->count; i++) {
        const struct parsed_entry *entry = &batch->entries[i];
        if (entry->state == state &&
            (entry->kind == ENTRY_REGISTRY ||
             (entry->kind == ENTRY_SUBMISSION &&
              district_state_find_school(state, entry->submission->school) < 0)))
            return true;
    }
    return false;
}

static int process_entries(struct consumer *consumer, struct batch *batch)
{
    /* 1. Bring the registry of districts we cannot judge up to date (a check-only APPLY). */
    struct batch sync = *batch;
    struct district_state *to_sync[batch->touched_count + 1];
    sync.touched = to_sync;
    sync.touched_count = 0;
    for (size_t i = 0; i < batch->touched_count; i++)
        if (needs_sync(batch, batch->touched[i]))
            to_sync[sync.touched_count++] = batch->touched[i];
    if (sync.touched_count > 0 && apply_round(consumer, &sync, false) != 0)
        return -1;
    if (fetch_records(consumer, batch) != 0)
        return -1;
    /* 2. Judge every entry against the registry; 3. apply. */
    for (size_t i = 0; i < batch->count; i++)
        authorize_entry(consumer, &batch->entries[i]);
    if (apply_round(consumer, batch, true) != 0)
        return -1;
    for (size_t i = 0; i < batch->count; i++) {
        struct parsed_entry *entry = &batch->entries[i];
        if (entry->kind == ENTRY_POISON)
            dead_letter(consumer, entry);
        else if (entry->kind == ENTRY_SUBMISSION)
            consumer->stats.values_applied += entry->submission->value_count;
    }
    return hold_batch(consumer, batch); /* 4. store and 5. acknowledge: flush_holds() */
}

#define HEAP_TRIM_MS 250

/* The cache's churn (a district loaded, evicted, another loaded: blocks of every size) leaves
 * the heap full of free holes that stay resident: in the national round 25 MB in use of a
 * 38 MB heap. Four times a second the free pages go back to the kernel (malloc_trim releases
 * whole free pages anywhere in the heap, not only at its top; ~0.1 ms a call), checked after
 * each batch and after each chunk of a flush pass (a pass over 2 800 districts takes seconds,
 * and the STOREs' buffers are where the holes appear). National round, worker peak RSS: trim
 * every 5 s 37-38 MB, every second 34-36, every 250 ms 34 (the peak is the cache filling);
 * 0.1-0.34 s of trimming in all, no slower. Not with glibc's mmap threshold lowered to give big
 * blocks their own mappings: pages handed back are faulted in again when reused, and the
 * national round took 30-50 s longer. The heap figures are kept for the log line at exit. */
static void tend_heap(struct consumer *consumer)
{
    struct consumer_stats *stats = &consumer->stats;
    struct mallinfo2 info = mallinfo2();
    size_t live = info.uordblks + info.hblkhd, arena = info.arena + info.hblkhd;
    if (live > stats->heap_live_peak)
        stats->heap_live_peak = live;
    if (arena > stats->heap_arena_peak)
        stats->heap_arena_peak = arena;
    long long now = json_now_ms();
    if (now - consumer->last_heap_trim_ms < HEAP_TRIM_MS)
        return;
    struct timespec started, finished;
    clock_gettime(CLOCK_MONOTONIC, &started);
    malloc_trim(0);
    clock_gettime(CLOCK_MONOTONIC, &finished);
    stats->heap_trim_seconds += (double)(finished.tv_sec - started.tv_sec) +
                                (double)(finished.tv_nsec - started.tv_nsec) / 1e9;
    consumer->last_heap_trim_ms = now;
}

static int process_batch(struct consumer *consumer, const redisReply *entries)
{
    if (!entries || entries->type != REDIS_REPLY_ARRAY || entries->elements == 0)
        return 0;
    long long started_ms = json_now_ms();
    struct batch batch = {0};
    batch.entries = calloc(entries->elements, sizeof(struct parsed_entry));
    batch.touched = calloc(entries->elements, sizeof(struct district_state *));
    int result = -1;
    if (batch.entries && batch.touched) {
        batch.count = entries->elements;
        for (size_t i = 0; i < entries->elements; i++)
            parse_entry(consumer, entries->element[i], &batch.entries[i], &batch);
        result = batch.out_of_memory ? -1 : process_entries(consumer, &batch);
    }
    if (result == 0) {
        static const size_t bounds[CONSUMER_BATCH_BUCKETS - 1] = {1, 10, 50, 100, 500};
        size_t bucket = 0;
        while (bucket < CONSUMER_BATCH_BUCKETS - 1 && batch.count > bounds[bucket])
            bucket++;
        consumer->stats.batch_size_buckets[bucket]++;
        consumer->stats.batch_seconds_sum += (double)(json_now_ms() - started_ms) / 1000.0;
        consumer->stats.batches++;
        consumer->stats.entries += batch.count;
        log_message(LOG_DEBUG, "batch of %zu entries over %zu districts", batch.count,
                    batch.touched_count);
    }
    for (size_t i = 0; i < batch.count; i++) {
        free(batch.entries[i].submission);
        free(batch.entries[i].record);
    }
    free(batch.entries);
    free(batch.touched);
    return result;
}

/* ---- the loop -----------------------------------------------------------------------------------
 */

static int ensure_group(struct consumer *consumer)
{
    const char *argv[] = {"XGROUP", "CREATE", KEY_STREAM, STREAM_GROUP, "0", "MKSTREAM"};
    redisReply *reply = redis_link_command(&consumer->link, 6, argv, NULL);
    if (!reply)
        return -1;
    int result =
        reply->type != REDIS_REPLY_ERROR || strncmp(reply->str, "BUSYGROUP", 9) == 0 ? 0 : -1;
    freeReplyObject(reply);
    return result;
}

/* Takes over entries idle longer than claim_idle_ms (left by dead consumers, or our own poison
 * entries waiting for another attempt) and processes them. */
static int claim_abandoned(struct consumer *consumer)
{
    char idle[32], count[16], start[48] = "0-0";
    snprintf(idle, sizeof(idle), "%d", consumer->config->claim_idle_ms);
    snprintf(count, sizeof(count), "%d", consumer->config->batch_size);
    consumer->last_claim_ms = json_now_ms();
    for (int round = 0; round < 100 && *consumer->running; round++) {
        const char *argv[] = {"XAUTOCLAIM", KEY_STREAM, STREAM_GROUP, consumer->config->consumer,
                              idle,         start,      "COUNT",      count};
        redisReply *reply = redis_link_command(&consumer->link, 8, argv, NULL);
        if (!reply)
            return -1;
        int result = 0;
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2) {
            snprintf(start, sizeof(start), "%s", reply->element[0]->str);
            if (reply->element[1]->elements > 0)
                log_message(LOG_INFO, "claimed %zu abandoned entries", reply->element[1]->elements);
            result = process_batch(consumer, reply->element[1]);
        } else {
            result = -1;
        }
        freeReplyObject(reply);
        if (result != 0 || strcmp(start, "0-0") == 0)
            return result;
    }
    return 0;
}

static redisReply *read_batch(struct consumer *consumer)
{
    char count[16];
    snprintf(count, sizeof(count), "%d", consumer->config->batch_size);
    /* After a (re)connect, our own pending entries first ("0"), then new ones (">"). */
    const char *from = consumer->own_pending_done ? ">" : consumer->pending_cursor;
    const char *argv[] = {"XREADGROUP", "GROUP",    STREAM_GROUP, consumer->config->consumer,
                          "COUNT",      count,      "BLOCK",      "1000",
                          "STREAMS",    KEY_STREAM, from};
    redisReply *reply = redis_link_command(&consumer->link, 11, argv, NULL);
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        if (reply) {
            log_message(LOG_WARN, "XREADGROUP: %s", reply->str);
            if (strncmp(reply->str, "NOGROUP", 7) == 0)
                ensure_group(consumer);
            freeReplyObject(reply);
        }
        return NULL;
    }
    return reply;
}

static const redisReply *stream_entries(const redisReply *reply)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0)
        return NULL;
    const redisReply *stream = reply->element[0];
    return stream->type == REDIS_REPLY_ARRAY && stream->elements == 2 ? stream->element[1] : NULL;
}

/* Trims the stream: entries older than the retention period go, but never one still pending or
 * not yet delivered (the Redis docs warn that MAXLEN/MINID trimming can drop pending entries).
 * Kept entries let GET /v1/submissions/{id} answer for the retention period. */
static void trim_stream(struct consumer *consumer)
{
    long long now = json_now_ms();
    if (now - consumer->last_trim_ms < 60000)
        return;
    consumer->last_trim_ms = now;
    unsigned long long boundary =
        (unsigned long long)(now - (long long)consumer->config->retention_hours * 3600000LL);
    const char *groups[] = {"XINFO", "GROUPS", KEY_STREAM};
    const char *pending[] = {"XPENDING", KEY_STREAM, STREAM_GROUP};
    redisReply *group_reply = redis_link_command(&consumer->link, 3, groups, NULL);
    redisReply *pending_reply =
        group_reply ? redis_link_command(&consumer->link, 3, pending, NULL) : NULL;
    bool known = false;
    for (size_t g = 0;
         group_reply && group_reply->type == REDIS_REPLY_ARRAY && g < group_reply->elements; g++) {
        const redisReply *group = group_reply->element[g];
        for (size_t i = 0; group->type == REDIS_REPLY_ARRAY && i + 1 < group->elements; i += 2) {
            if (strcmp(group->element[i]->str, "last-delivered-id") != 0)
                continue;
            unsigned long long delivered = strtoull(group->element[i + 1]->str, NULL, 10);
            boundary = delivered < boundary ? delivered : boundary;
            known = true;
        }
    }
    if (pending_reply && pending_reply->type == REDIS_REPLY_ARRAY && pending_reply->elements >= 2 &&
        pending_reply->element[0]->integer > 0 &&
        pending_reply->element[1]->type == REDIS_REPLY_STRING) {
        unsigned long long oldest = strtoull(pending_reply->element[1]->str, NULL, 10);
        boundary = oldest < boundary ? oldest : boundary;
    }
    if (known && pending_reply && pending_reply->type == REDIS_REPLY_ARRAY) {
        char minid[32];
        snprintf(minid, sizeof(minid), "%llu", boundary);
        const char *trim[] = {"XTRIM", KEY_STREAM, "MINID", minid};
        redisReply *reply = redis_link_command(&consumer->link, 4, trim, NULL);
        if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0)
            log_message(LOG_INFO, "trimmed %lld acknowledged entries older than %d h",
                        reply->integer, consumer->config->retention_hours);
        if (reply)
            freeReplyObject(reply);
    }
    if (group_reply)
        freeReplyObject(group_reply);
    if (pending_reply)
        freeReplyObject(pending_reply);
}

/* Publishes this worker's counters for the API's /metrics (hash edumon:workers, one field per
 * consumer, JSON), at most every 5 s. Workers serve no HTTP themselves. */
static void publish_stats(struct consumer *consumer)
{
    long long now = json_now_ms();
    if (now - consumer->stats.published_ms < 5000)
        return;
    consumer->stats.published_ms = now;
    const struct consumer_stats *stats = &consumer->stats;
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"batches\":%llu,\"entries\":%llu,\"values_applied\":%llu,"
             "\"snapshots_stored\":%llu,\"dead_lettered\":%llu,\"reconnects\":%lu,"
             "\"batch_seconds_sum\":%.6f,\"batch_size_buckets\":[%llu,%llu,%llu,%llu,%llu,%llu],"
             "\"updated_ms\":%lld}",
             stats->batches, stats->entries, stats->values_applied, stats->snapshots_stored,
             stats->dead_lettered, consumer->link.reconnects, stats->batch_seconds_sum,
             stats->batch_size_buckets[0], stats->batch_size_buckets[1],
             stats->batch_size_buckets[2], stats->batch_size_buckets[3],
             stats->batch_size_buckets[4], stats->batch_size_buckets[5], now);
    const char *argv[] = {"HSET", KEY_WORKERS, consumer->config->consumer, json};
    redisReply *reply = redis_link_command(&consumer->link, 4, argv, NULL);
    if (reply)
        freeReplyObject(reply);
}

/* After a failure: what is held and the batch in hand stay pending; read them again. */
static void restart_from_own_pending(struct consumer *consumer)
{
    drop_holds(consumer);
    consumer->own_pending_done = 0;
    snprintf(consumer->pending_cursor, sizeof(consumer->pending_cursor), "0");
}

void consumer_run(struct consumer *consumer)
{
    while (*consumer->running) {
        if (consumer->link.context) {
            publish_stats(consumer);
            trim_stream(consumer);
        }
        if (!consumer->link.context) {
            restart_from_own_pending(consumer);
            if (redis_link_ensure(&consumer->link, consumer->running) != 0)
                break;
            if (ensure_group(consumer) != 0)
                continue;
        }
        if (json_now_ms() - consumer->last_claim_ms > consumer->config->claim_idle_ms / 2) {
            /* What this worker holds first, so that XAUTOCLAIM takes only others' entries. */
            if (refresh_holds(consumer) != 0 || claim_abandoned(consumer) != 0 ||
                flush_holds(consumer, false) != 0)
                restart_from_own_pending(consumer);
            continue;
        }
        redisReply *reply = read_batch(consumer);
        if (!reply)
            continue;
        const redisReply *entries = stream_entries(reply);
        size_t count = entries ? entries->elements : 0;
        int result = process_batch(consumer, entries);
        /* Caught up (a short batch): store everything now; behind: what has waited long. */
        if (result == 0)
            result = flush_holds(consumer, count < (size_t)consumer->config->batch_size ||
                                               consumer->held_total >= HOLD_LIMIT);
        if (result == 0 && !consumer->own_pending_done) {
            /* Page through our own pending list; entries that stay pending (poison ones
             * waiting for another attempt) are passed over and left to XAUTOCLAIM. */
            if (count == 0)
                consumer->own_pending_done = 1;
            else
                snprintf(consumer->pending_cursor, sizeof(consumer->pending_cursor), "%s",
                         entries->element[count - 1]->element[0]->str);
        }
        freeReplyObject(reply);
        if (result != 0)
            restart_from_own_pending(consumer);
        district_cache_trim(&consumer->cache); /* nothing of the cache is in hand here */
        tend_heap(consumer);
    }
    /* Stopping: store and acknowledge what is held (nothing is lost otherwise: it stays
     * pending, but the next worker would have to wait for XAUTOCLAIM). */
    if (consumer->link.context && flush_holds(consumer, true) != 0)
        log_message(LOG_WARN, "could not store the held districts before stopping; their "
                              "entries stay pending for the next worker");
}
