/* script_call.c -- see script_call.h. */
#include "script_call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "scripts.h"

static const char *const script_bodies[API_SCRIPT_COUNT] = {SCRIPT_SUBMIT, SCRIPT_REGISTER,
                                                            SCRIPT_ROTATE};
static char script_sha[API_SCRIPT_COUNT][41];

struct script_context {
    struct redis_async *redis;
    enum api_script script;
    redis_callback callback;
    void *privdata;
    int argc;
    char **argv;
    size_t *lengths;
    int attempt;
};

static const char *sha_of(enum api_script script)
{
    if (!script_sha[script][0]) {
        unsigned char sum[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        EVP_Digest(script_bodies[script], strlen(script_bodies[script]), sum, &length, EVP_sha1(),
                   NULL);
        for (unsigned int i = 0; i < length && i < 20; i++)
            snprintf(script_sha[script] + 2 * (size_t)i, 3, "%02x", sum[i]);
    }
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
    for (int i = 0; i < context->argc; i++)
        free(context->argv[i]);
    free(context->argv);
    free(context->lengths);
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
    if (context->attempt == 0) {
        context->argv[0] = strdup("EVALSHA");
        context->argv[1] = strdup(sha_of(context->script));
    } else {
        free(context->argv[0]);
        free(context->argv[1]);
        context->argv[0] = strdup("EVAL");
        context->argv[1] = strdup(script_bodies[context->script]);
    }
    if (!context->argv[0] || !context->argv[1]) {
        context->callback(NULL, context->privdata);
        context_free(context);
        return;
    }
    context->lengths[0] = strlen(context->argv[0]);
    context->lengths[1] = strlen(context->argv[1]);
    redis_async_command(context->redis, on_script_reply, context, context->argc,
                        (const char **)context->argv, context->lengths);
}

void script_call(struct redis_async *redis, enum api_script script, int key_count, int argc,
                 const char **argv, const size_t *lengths, redis_callback callback, void *privdata)
{
    struct script_context *context = calloc(1, sizeof(*context));
    int total = argc + 3;
    if (context) {
        context->argv = calloc((size_t)total, sizeof(char *));
        context->lengths = calloc((size_t)total, sizeof(size_t));
    }
    if (!context || !context->argv || !context->lengths) {
        if (context)
            context_free(context);
        callback(NULL, privdata);
        return;
    }
    context->redis = redis;
    context->script = script;
    context->callback = callback;
    context->privdata = privdata;
    context->argc = total;
    char count[16];
    snprintf(count, sizeof(count), "%d", key_count);
    context->argv[2] = strdup(count);
    context->lengths[2] = strlen(count);
    bool failed = !context->argv[2];
    for (int i = 0; i < argc && !failed; i++) {
        size_t length = lengths ? lengths[i] : strlen(argv[i]);
        context->argv[i + 3] = malloc(length + 1);
        failed = !context->argv[i + 3];
        if (!failed) {
            memcpy(context->argv[i + 3], argv[i], length);
            context->argv[i + 3][length] = '\0';
            context->lengths[i + 3] = length;
        }
    }
    if (failed) {
        context_free(context);
        callback(NULL, privdata);
        return;
    }
    send_attempt(context);
}
