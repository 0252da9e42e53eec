/* script_call.c -- see script_call.h. */
#include "script_call.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sha1.h>

#include "scripts.h"
#include "textfmt.h"

static const char *const script_bodies[API_SCRIPT_COUNT] = {SCRIPT_SUBMIT, SCRIPT_SUBMIT_BATCH,
                                                            SCRIPT_REGISTER, SCRIPT_ROTATE};
static char script_sha[API_SCRIPT_COUNT][SHA1_DIGEST_STRING_LENGTH];
static pthread_once_t script_sha_once = PTHREAD_ONCE_INIT;

struct script_context {
    struct redis_async *redis;
    enum api_script script;
    redis_callback callback;
    void *privdata;
    int argc;          /* with the three reserved: command, script, key count */
    const char **argv; /* argv[3..] point into `copies`, or all of it is the caller's */
    size_t *lengths;
    bool owns_arrays; /* argv and lengths (script_call), or the caller's (borrowed) */
    char *copies;     /* owned: the arguments of script_call, one block; NULL when borrowed */
    char key_count[16];
    int attempt;
};

/* Redis names a script by the hex SHA-1 of its body (what EVALSHA takes). Computed once for
 * every event loop's thread. */
static void compute_shas(void)
{
    for (int script = 0; script < API_SCRIPT_COUNT; script++)
        SHA1Data((const uint8_t *)script_bodies[script], strlen(script_bodies[script]),
                 script_sha[script]);
}

static const char *sha_of(enum api_script script)
{
    pthread_once(&script_sha_once, compute_shas);
    return script_sha[script];
}

const char *script_call_body(enum api_script script)
{
    return script_bodies[script];
}

const char *script_call_sha(enum api_script script)
{
    return sha_of(script);
}

static void context_free(struct script_context *context)
{
    free(context->copies);
    if (context->owns_arrays) {
        free(context->argv);
        free(context->lengths);
    }
    free(context);
}

static void send_attempt(struct script_context *context);

static void on_script_reply(redisReply *reply, void *privdata)
{
    struct script_context *context = privdata;
    if (reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0 &&
        context->attempt == 0) {
        context->attempt = 1;
        send_attempt(context);
        return;
    }
    context->callback(reply, context->privdata);
    context_free(context);
}

static void send_attempt(struct script_context *context)
{
    /* argv[0..1] are reserved for the command and the script (sha or body). */
    context->argv[0] = context->attempt == 0 ? "EVALSHA" : "EVAL";
    context->argv[1] =
        context->attempt == 0 ? sha_of(context->script) : script_bodies[context->script];
    context->lengths[0] = strlen(context->argv[0]);
    context->lengths[1] = strlen(context->argv[1]);
    redis_async_command(context->redis, on_script_reply, context, context->argc, context->argv,
                        context->lengths);
}

/* A context whose argv[3..] are still to be filled: in arrays of its own when `argv` and
 * `lengths` are NULL, else in the caller's. NULL when out of memory. */
static struct script_context *context_new(struct redis_async *redis, enum api_script script,
                                          int key_count, int argc, const char **argv,
                                          size_t *lengths, redis_callback callback, void *privdata)
{
    struct script_context *context = calloc(1, sizeof(*context));
    if (!context)
        return NULL;
    context->argc = argc + SCRIPT_CALL_RESERVED;
    context->owns_arrays = argv == NULL; /* then `lengths` is NULL too */
    context->argv = argv;
    context->lengths = lengths;
    if (context->owns_arrays) {
        context->argv = calloc((size_t)context->argc, sizeof(*context->argv));
        context->lengths = calloc((size_t)context->argc, sizeof(*context->lengths));
    }
    if (!context->argv || !context->lengths) {
        context_free(context);
        return NULL;
    }
    context->redis = redis;
    context->script = script;
    context->callback = callback;
    context->privdata = privdata;
    struct text text = text_start(context->key_count, sizeof(context->key_count));
    text_add_signed(&text, key_count);
    text_end(&text);
    context->argv[2] = context->key_count;
    context->lengths[2] = strlen(context->key_count);
    return context;
}

void script_call(struct redis_async *redis, enum api_script script, int key_count, int argc,
                 const char **argv, const size_t *lengths, redis_callback callback, void *privdata)
{
    struct script_context *context =
        context_new(redis, script, key_count, argc, NULL, NULL, callback, privdata);
    size_t total = 0;
    for (int i = 0; context && i < argc; i++) {
        context->lengths[i + 3] = lengths ? lengths[i] : strlen(argv[i]);
        total += context->lengths[i + 3] + 1;
    }
    if (context)
        context->copies = malloc(total ? total : 1);
    if (!context || !context->copies) {
        if (context)
            context_free(context);
        callback(NULL, privdata);
        return;
    }
    char *cursor = context->copies;
    for (int i = 0; i < argc; i++) {
        memcpy(cursor, argv[i], context->lengths[i + 3]);
        cursor[context->lengths[i + 3]] = '\0';
        context->argv[i + 3] = cursor;
        cursor += context->lengths[i + 3] + 1;
    }
    send_attempt(context);
}

void script_call_borrowed(struct redis_async *redis, enum api_script script, int key_count,
                          int argc, const char **argv, size_t *lengths, redis_callback callback,
                          void *privdata)
{
    struct script_context *context =
        context_new(redis, script, key_count, argc, argv, lengths, callback, privdata);
    if (!context) {
        callback(NULL, privdata);
        return;
    }
    send_attempt(context);
}
