/* scripts.h -- the worker's Lua scripts. Each runs atomically inside Redis, which is what
 * makes several workers safe: last-writer-wins is decided where the data is, and a snapshot
 * is stored only if nothing newer was stored first. All keys of one call share the district
 * hash tag, so each call stays within one Cluster slot. */
#ifndef EDUMON_WORKER_SCRIPTS_H
#define EDUMON_WORKER_SCRIPTS_H

/* APPLY: last-writer-wins per (school, period, element), ordered by stream id.
 *   KEYS[1] state hash (field cellsver)   KEYS[2] periods zset   KEYS[3] registry version
 *   KEYS[4] schools hash                  KEYS[5..] cells hash of each period in ARGV
 *   ARGV[1] the caller's cached cellsver, or "blind"   ARGV[2] the caller's registry version
 *   ARGV[3] key prefix "edumon:{d}:cells:" ARGV[4..]: groups "period n field cell …", each
 *   cell as stored: "<entry id> <value>"
 * A cell is written only when the entry's id is greater than the stored one (or than an earlier
 * value of the same call for the same cell), so replaying an entry changes nothing. The stored
 * ids of a group are read with one HMGET and its writes made with one HSET (1 000 fields at a
 * time): a call per value made Lua's redis.call the larger part of the script's cost. cellsver
 * counts effective changes. Returns
 *   {cellsver_before, cellsver_after, registry_version, changed, dump, accepted}
 * where dump is empty when the caller's cache is current (its versions match) or the caller
 * applies blind, and otherwise {schools…, periods…, cells of each period…} so the caller can
 * rebuild its copy; accepted has one '1' (written) or '0' (older than the stored cell) per
 * value in ARGV order, so that a caller whose copy was current (cellsver_before and
 * registry_version equal to its own) replays exactly the writes made here without keeping
 * entry ids. The worker applies values blind and checks the versions itself: a stale copy is
 * dropped and reloaded once when the district's store comes due, not dumped with every batch;
 * it asks for a dump only with a check-only call (no groups). */
#define SCRIPT_APPLY                                                                               \
    "local find, sub = string.find, string.sub\n"                                                  \
    "local function newer(a, b)\n"                                                                 \
    "  if a == b then return false end\n"                                                          \
    "  local ad, bd = find(a, '-', 1, true), find(b, '-', 1, true)\n"                              \
    "  if ad ~= bd then return ad > bd end\n"                                                      \
    "  local am, bm = sub(a, 1, ad - 1), sub(b, 1, bd - 1)\n"                                      \
    "  if am ~= bm then return am > bm end\n"                                                      \
    "  local as, bs = sub(a, ad + 1), sub(b, bd + 1)\n"                                            \
    "  if #as ~= #bs then return #as > #bs end\n"                                                  \
    "  return as > bs\n"                                                                           \
    "end\n"                                                                                        \
    "local function id_of(cell)\n"                                                                 \
    "  return sub(cell, 1, find(cell, ' ', 1, true) - 1)\n"                                        \
    "end\n"                                                                                        \
    "local before = tonumber(redis.call('HGET', KEYS[1], 'cellsver') or '0')\n"                    \
    "local changed = 0\n"                                                                          \
    "local blind = ARGV[1] == 'blind'\n"                                                           \
    "local accepted, na = {}, 0\n"                                                                 \
    "local i = 4\n"                                                                                \
    "local k = 5\n"                                                                                \
    "while i <= #ARGV do\n"                                                                        \
    "  local period, n = ARGV[i], tonumber(ARGV[i + 1])\n"                                         \
    "  local cells = KEYS[k]\n"                                                                    \
    "  i = i + 2\n"                                                                                \
    "  k = k + 1\n"                                                                                \
    "  redis.call('ZADD', KEYS[2], tonumber(period), period)\n"                                    \
    "  local fields, current = {}, {}\n"                                                           \
    "  for j = 0, n - 1 do fields[j + 1] = ARGV[i + 2 * j] end\n"                                  \
    "  for s = 1, n, 1000 do\n"                                                                    \
    "    local e = math.min(s + 999, n)\n"                                                         \
    "    local stored = redis.call('HMGET', cells, unpack(fields, s, e))\n"                        \
    "    for t = s, e do\n"                                                                        \
    "      local old = stored[t - s + 1]\n"                                                        \
    "      if old then current[fields[t]] = old end\n"                                             \
    "    end\n"                                                                                    \
    "  end\n"                                                                                      \
    "  local order, queued, no = {}, {}, 0\n"                                                      \
    "  for j = 1, n do\n"                                                                          \
    "    local field, value = ARGV[i], ARGV[i + 1]\n"                                              \
    "    i = i + 2\n"                                                                              \
    "    local old = current[field]\n"                                                             \
    "    local write = not old or newer(id_of(value), id_of(old))\n"                               \
    "    if write then\n"                                                                          \
    "      current[field] = value\n"                                                               \
    "      if not queued[field] then\n"                                                            \
    "        no = no + 1\n"                                                                        \
    "        order[no] = field\n"                                                                  \
    "      end\n"                                                                                  \
    "      queued[field] = true\n"                                                                 \
    "      changed = changed + 1\n"                                                                \
    "    end\n"                                                                                    \
    "    na = na + 1\n"                                                                            \
    "    accepted[na] = write and '1' or '0'\n"                                                    \
    "  end\n"                                                                                      \
    "  local pairs_, np = {}, 0\n"                                                                 \
    "  for j = 1, no do\n"                                                                         \
    "    pairs_[np + 1] = order[j]\n"                                                              \
    "    pairs_[np + 2] = current[order[j]]\n"                                                     \
    "    np = np + 2\n"                                                                            \
    "    if np == 1000 or j == no then\n"                                                          \
    "      redis.call('HSET', cells, unpack(pairs_))\n"                                            \
    "      pairs_, np = {}, 0\n"                                                                   \
    "    end\n"                                                                                    \
    "  end\n"                                                                                      \
    "end\n"                                                                                        \
    "local after = before\n"                                                                       \
    "if changed > 0 then after = redis.call('HINCRBY', KEYS[1], 'cellsver', 1) end\n"              \
    "local registry = tonumber(redis.call('GET', KEYS[3]) or '0')\n"                               \
    "local dump = {}\n"                                                                            \
    "if not blind and (tostring(before) ~= ARGV[1] or tostring(registry) ~= ARGV[2]) then\n"       \
    "  local periods = redis.call('ZRANGE', KEYS[2], 0, -1)\n"                                     \
    "  dump = {redis.call('HGETALL', KEYS[4]), periods}\n"                                         \
    "  for _, p in ipairs(periods) do\n"                                                           \
    "    table.insert(dump, redis.call('HGETALL', ARGV[3] .. p))\n"                                \
    "  end\n"                                                                                      \
    "end\n"                                                                                        \
    "return {before, after, registry, changed, dump, table.concat(accepted)}\n"

/* STORE: keep a period's snapshot if nothing newer is stored, bumping its version only when
 * the content changed.
 *   KEYS[1] snapshot hash   KEYS[2] timeline list
 *   ARGV[1] source (the district cellsver the snapshot was computed from)
 *   ARGV[2] content digest  ARGV[3] body without version/updated_at (a JSON object)
 *   ARGV[4] updated_at      ARGV[5] values JSON   ARGV[6] district   ARGV[7] period
 *   ARGV[8] the channel to publish on
 *   ARGV[9] the balanced-development document without version/updated_at ("" when the
 *           catalog has no balance settings); the digest covers it, so a change of either
 *           document bumps the one version both are served with
 * Returns the stored version (unchanged when skipped). */
#define SCRIPT_STORE                                                                               \
    "local stored = redis.call('HMGET', KEYS[1], 'source', 'digest', 'version')\n"                 \
    "local source = tonumber(ARGV[1])\n"                                                           \
    "local version = tonumber(stored[3] or '0')\n"                                                 \
    "if stored[1] and tonumber(stored[1]) >= source then return version end\n"                     \
    "if stored[2] == ARGV[2] then\n"                                                               \
    "  redis.call('HSET', KEYS[1], 'source', ARGV[1])\n"                                           \
    "  return version\n"                                                                           \
    "end\n"                                                                                        \
    "version = redis.call('HINCRBY', KEYS[1], 'version', 1)\n"                                     \
    "local body = string.sub(ARGV[3], 1, -2) .. ',\"version\":' .. version ..\n"                   \
    "  ',\"updated_at\":\"' .. ARGV[4] .. '\"}'\n"                                                 \
    "redis.call('HSET', KEYS[1], 'source', ARGV[1], 'digest', ARGV[2], 'json', body,\n"            \
    "  'values', ARGV[5], 'updated_at', ARGV[4])\n"                                                \
    "if ARGV[9] and ARGV[9] ~= '' then\n"                                                          \
    "  redis.call('HSET', KEYS[1], 'balance', string.sub(ARGV[9], 1, -2) .. ',\"version\":' ..\n"  \
    "    version .. ',\"updated_at\":\"' .. ARGV[4] .. '\"}')\n"                                   \
    "end\n"                                                                                        \
    "redis.call('RPUSH', KEYS[2], '{\"version\":' .. version .. ',\"updated_at\":\"' ..\n"         \
    "  ARGV[4] .. '\",\"values\":' .. ARGV[5] .. '}')\n"                                           \
    "redis.call('LTRIM', KEYS[2], -1000, -1)\n"                                                    \
    "redis.call('PUBLISH', ARGV[8], ARGV[6] .. ' ' .. ARGV[7] .. ' ' .. version)\n"                \
    "return version\n"

#endif
