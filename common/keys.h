/* keys.h -- every Redis key and channel edumon uses, in one place.
 *
 * Per-district keys carry the district as a hash tag, edumon:{district}:…, so that all keys a
 * worker touches when it applies a batch to one district live in one Cluster slot and the
 * apply and store scripts stay single-slot. Global keys are the submission stream, the
 * dead-letter stream, the school index and the token index.
 *
 *   edumon:submissions                  stream of accepted submissions (group edumon-workers)
 *   edumon:dead                         dead-letter stream: entries that failed N deliveries
 *   edumon:schools                      hash  school id -> school record JSON (with token hash)
 *   edumon:tokens                       hash  sha256(token) -> school id
 *   edumon:workers                      hash  consumer name -> its counters (JSON, for /metrics)
 *   edumon:status:<entry id>            string: "applied" | "rejected <reason>" (30 days)
 *   edumon:idem:<school>:<sha256(key)>  string: first answer to an Idempotency-Key (24 h)
 *   edumon:{d}:schools                  hash  school id -> school record JSON (no token)
 *   edumon:{d}:registry                 string: registry version, bumped on every registration
 *   edumon:{d}:cells:<p>                hash  "<school>/<element>" -> "<entry id> <value>"
 *   edumon:{d}:state:<p>                hash  cellsver (bumped by every effective apply)
 *   edumon:{d}:snap:<p>                 hash  version, json, cellsver, values, updated_at
 *   edumon:{d}:periods                  zset  periods with data (score = year)
 *   edumon:{d}:timeline:<p>             list  {"version","updated_at","values"} per version
 *   channel edumon:snapshots            "<district> <period> <version>" after every store
 */
#ifndef EDUMON_KEYS_H
#define EDUMON_KEYS_H

#include <stddef.h>

#define KEY_STREAM        "edumon:submissions"
#define KEY_DEAD_LETTER   "edumon:dead"
#define KEY_SCHOOLS       "edumon:schools"
#define KEY_TOKENS        "edumon:tokens"
#define KEY_WORKERS       "edumon:workers"
#define STREAM_GROUP      "edumon-workers"
#define CHANNEL_SNAPSHOTS "edumon:snapshots"
#define KEY_MAX           192

/* Per-district keys. `period` is ignored by the kinds without one. */
enum district_key {
    KEY_DISTRICT_SCHOOLS,
    KEY_DISTRICT_REGISTRY,
    KEY_DISTRICT_CELLS,
    KEY_DISTRICT_STATE,
    KEY_DISTRICT_SNAPSHOT,
    KEY_DISTRICT_PERIODS,
    KEY_DISTRICT_TIMELINE
};

/* Writes the key into `out` (KEY_MAX bytes). */
void keys_district(char *out, enum district_key kind, const char *district, int period);
void keys_status(char *out, const char *entry_id);
void keys_idempotency(char *out, const char *school, const char *key_hash);
/* The marker of one SUBMIT_BATCH call (api/submit_batch.c), named by a random token. */
void keys_batch_marker(char *out, const char *random);

#endif
