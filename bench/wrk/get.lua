-- get.lua -- snapshot benchmark: GET the URL given to wrk; with $BENCH_ETAG set, send it as
-- If-None-Match so that the server answers 304 without a body.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local etag = os.getenv("BENCH_ETAG")
if etag and etag ~= "" then
   wrk.headers["If-None-Match"] = etag
end
