/* scripts.h -- the API's Lua scripts. They make each write all-or-nothing: a submission is
 * queued only if its token is still valid and its deadline has not passed, and a school is
 * registered together with its token, its district registry entry and the wake-up entry that
 * makes a worker recompute the district. */
#ifndef EDUMON_API_SCRIPTS_H
#define EDUMON_API_SCRIPTS_H

/* SUBMIT
 *   KEYS[1] stream   KEYS[2] tokens hash   KEYS[3] idempotency key
 *   ARGV[1] deadline in Redis milliseconds: later than this, write nothing (the client has
 *           already been told 503, so the entry must not appear afterwards)
 *   ARGV[2] token hash ("" for the admin token)   ARGV[3] the unit the token belongs to
 *   ARGV[4] "1" when an Idempotency-Key was given (look it up, keep it 24 h), "m" for a
 *           marker only (keep "digest id" under KEYS[3] for 2 minutes, so that an API whose
 *           connection dropped before the reply can find out whether the entry was written),
 *           "0" for neither   ARGV[5] body digest
 *   ARGV[6..] the stream entry's field/value pairs
 * Returns {"ok", id} | {"expired"} | {"token"} | {"repeat", id, digest}. */
#define SCRIPT_SUBMIT                                                                              \
    "local t = redis.call('TIME')\n"                                                               \
    "if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[1]) then\n"      \
    "  return {'expired'}\n"                                                                       \
    "end\n"                                                                                        \
    "if ARGV[2] ~= '' and redis.call('HGET', KEYS[2], ARGV[2]) ~= ARGV[3] then\n"                  \
    "  return {'token'}\n"                                                                         \
    "end\n"                                                                                        \
    "if ARGV[4] == '1' then\n"                                                                     \
    "  local previous = redis.call('GET', KEYS[3])\n"                                              \
    "  if previous then\n"                                                                         \
    "    local digest, id = string.match(previous, '^(%S+) (%S+)$')\n"                             \
    "    return {'repeat', id, digest}\n"                                                          \
    "  end\n"                                                                                      \
    "end\n"                                                                                        \
    "local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 6))\n"                               \
    "if ARGV[4] == '1' then\n"                                                                     \
    "  redis.call('SET', KEYS[3], ARGV[5] .. ' ' .. id, 'EX', 86400)\n"                            \
    "elseif ARGV[4] == 'm' then\n"                                                                 \
    "  redis.call('SET', KEYS[3], ARGV[5] .. ' ' .. id, 'EX', 120)\n"                              \
    "end\n"                                                                                        \
    "return {'ok', id}\n"

/* SUBMIT_BATCH: SUBMIT for the n submissions gathered in one pass of the event loop (one Lua
 * call instead of n: group commit, submit_batch.c). Each is checked and written exactly as
 * SUBMIT would, in order, so two of them with the same Idempotency-Key behave as two calls;
 * the tokens are looked up with one HMGET (no submission changes a token); instead of a
 * marker per submission, one marker per batch (KEYS[3], kept 2 minutes) lists
 * each submission's entry id, or "-" when it was not written, so that an API whose connection
 * dropped before the reply can find out what happened.
 *   KEYS[1] stream   KEYS[2] tokens hash   KEYS[3] the batch's marker
 *   KEYS[3 + i] submission i's idempotency key (read and written only in mode "1")
 *   ARGV[1] deadline in Redis milliseconds (for the whole batch)   ARGV[2] n
 *   ARGV[3 + 10 (i - 1) ..] submission i: token hash ("" for the admin token), the token's
 *           unit, mode ("1" when an Idempotency-Key was given: look it up, keep it 24 h;
 *           else "0"), body digest, then the values of the stream fields district, school,
 *           period, by, received, body
 * Returns {"expired"} (nothing written) or {"done", r1, …, rn} with each ri as SUBMIT's reply:
 * {"ok", id} | {"token"} | {"repeat", id, digest}. */
#define SCRIPT_SUBMIT_BATCH                                                                        \
    "local t = redis.call('TIME')\n"                                                               \
    "if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[1]) then\n"      \
    "  return {'expired'}\n"                                                                       \
    "end\n"                                                                                        \
    "local n, hashes = tonumber(ARGV[2]), {}\n"                                                    \
    "for i = 1, n do hashes[i] = ARGV[3 + 10 * (i - 1)] end\n"                                     \
    "local owners = redis.call('HMGET', KEYS[2], unpack(hashes))\n"                                \
    "local out, written = {'done'}, {}\n"                                                          \
    "for i = 1, n do\n"                                                                            \
    "  local a, key = 3 + 10 * (i - 1), KEYS[3 + i]\n"                                             \
    "  local keyed, r = ARGV[a + 2] == '1'\n"                                                      \
    "  written[i] = '-'\n"                                                                         \
    "  if ARGV[a] ~= '' and owners[i] ~= ARGV[a + 1] then\n"                                       \
    "    r = {'token'}\n"                                                                          \
    "  else\n"                                                                                     \
    "    local previous = keyed and redis.call('GET', key)\n"                                      \
    "    if previous then\n"                                                                       \
    "      local digest, id = string.match(previous, '^(%S+) (%S+)$')\n"                           \
    "      r = {'repeat', id, digest}\n"                                                           \
    "    else\n"                                                                                   \
    "      local id = redis.call('XADD', KEYS[1], '*', 'type', 'submission',\n"                    \
    "        'district', ARGV[a + 4], 'school', ARGV[a + 5], 'period', ARGV[a + 6],\n"             \
    "        'by', ARGV[a + 7], 'received', ARGV[a + 8], 'body', ARGV[a + 9])\n"                   \
    "      if keyed then\n"                                                                        \
    "        redis.call('SET', key, ARGV[a + 3] .. ' ' .. id, 'EX', 86400)\n"                      \
    "      end\n"                                                                                  \
    "      written[i] = id\n"                                                                      \
    "      r = {'ok', id}\n"                                                                       \
    "    end\n"                                                                                    \
    "  end\n"                                                                                      \
    "  out[i + 1] = r\n"                                                                           \
    "end\n"                                                                                        \
    "redis.call('SET', KEYS[3], table.concat(written, ' '), 'EX', 120)\n"                          \
    "return out\n"

/* REGISTER
 *   KEYS[1] schools hash  KEYS[2] tokens hash  KEYS[3] district schools hash
 *   KEYS[4] district registry version  KEYS[5] district state hash  KEYS[6] stream
 *   ARGV[1] school id  ARGV[2] record with token hash  ARGV[3] record without
 *   ARGV[4] token hash  ARGV[5] district
 * Returns "ok" or "exists". */
#define SCRIPT_REGISTER                                                                            \
    "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'exists' end\n"                   \
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"                                              \
    "redis.call('HSET', KEYS[2], ARGV[4], ARGV[1])\n"                                              \
    "redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])\n"                                              \
    "redis.call('INCR', KEYS[4])\n"                                                                \
    "redis.call('HINCRBY', KEYS[5], 'cellsver', 1)\n"                                              \
    "redis.call('XADD', KEYS[6], '*', 'type', 'registry', 'district', ARGV[5])\n"                  \
    "return 'ok'\n"

/* ROTATE
 *   KEYS[1] schools hash  KEYS[2] tokens hash
 *   ARGV[1] school id  ARGV[2] new token hash
 * The old hash is removed in the same step, so the old token stops working at once.
 * Returns "ok" or "missing". */
#define SCRIPT_ROTATE                                                                              \
    "local record = redis.call('HGET', KEYS[1], ARGV[1])\n"                                        \
    "if not record then return 'missing' end\n"                                                    \
    "local school = cjson.decode(record)\n"                                                        \
    "if school.token_sha256 then redis.call('HDEL', KEYS[2], school.token_sha256) end\n"           \
    "school.token_sha256 = ARGV[2]\n"                                                              \
    "redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(school))\n"                                 \
    "redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])\n"                                              \
    "return 'ok'\n"

#endif
