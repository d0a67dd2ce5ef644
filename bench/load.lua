-- wrk script for examples/load.sh: each request carries one of the sessions listed in the
-- file named by COOKIES (one `name=value` a line), chosen at random, so that the load is
-- many visitors, not one session hammered by every connection. Counts non-2xx answers.
local cookies = {}
for line in io.lines(os.getenv("COOKIES")) do cookies[#cookies + 1] = line end

request = function()
  local headers = {}
  if #cookies > 0 then headers["Cookie"] = cookies[math.random(#cookies)] end
  return wrk.format("GET", nil, headers)
end

done = function(summary, latency, requests)
  io.write(string.format("errors %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
