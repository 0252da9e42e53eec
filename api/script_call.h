/* script_call.h -- running the API's Lua scripts: EVALSHA first (the script body is not sent
 * on every request), EVAL once when Redis answers NOSCRIPT (after a restart it has forgotten
 * the scripts). The callback contract is redis_async's: called exactly once. */
#ifndef EDUMON_API_SCRIPT_CALL_H
#define EDUMON_API_SCRIPT_CALL_H

#include "redis_async.h"

enum api_script {
    API_SCRIPT_SUBMIT,
    API_SCRIPT_SUBMIT_BATCH,
    API_SCRIPT_REGISTER,
    API_SCRIPT_ROTATE,
    API_SCRIPT_COUNT
};

/* argv holds the keys followed by the arguments; they are copied. */
void script_call(struct redis_async *redis, enum api_script script, int key_count, int argc,
                 const char **argv, const size_t *lengths, redis_callback callback, void *privdata);

/* Like script_call without copying or allocating arrays: argv and lengths begin with
 * SCRIPT_CALL_RESERVED slots that the call fills in (the command, the script, the key count),
 * followed by the `argc` keys and arguments. Both arrays, and what argv points to, must stay
 * valid and unchanged until the callback has run, which may be before this returns. */
#define SCRIPT_CALL_RESERVED 3
void script_call_borrowed(struct redis_async *redis, enum api_script script, int key_count,
                          int argc, const char **argv, size_t *lengths, redis_callback callback,
                          void *privdata);

/* The script's body and its SHA-1, for callers that must queue several calls inside one
 * MULTI/EXEC (where a NOSCRIPT cannot be retried): SCRIPT LOAD the body first in the same
 * transaction, then EVALSHA. */
const char *script_call_body(enum api_script script);
const char *script_call_sha(enum api_script script);

#endif
