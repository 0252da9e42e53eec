-- submit.lua -- intake benchmark: POST /v1/submissions, rotating over the schools (and their
-- tokens) of the Lua table in $BENCH_DATA ({token=, body=} each, written by edubench.py).
-- Every request is a valid submission the API answers 202.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local requests = {}
local next_index = 0

function init(args)
   local data = dofile(os.getenv("BENCH_DATA"))
   for i, item in ipairs(data) do
      requests[i] = wrk.format("POST", "/v1/submissions", {
         ["Authorization"] = "Bearer " .. item.token,
         ["Content-Type"] = "application/json",
      }, item.body)
   end
   if #requests == 0 then
      error("no submissions in " .. os.getenv("BENCH_DATA"))
   end
end

function request()
   next_index = next_index % #requests + 1
   return requests[next_index]
end
