-- wrk script for bench/hot.sh: every request carries the one session cookie in COOKIE.
-- Prints the completed requests and the non-2xx answers, to check the final count.
local cookie = os.getenv("COOKIE")

request = function()
  return wrk.format("GET", nil, { ["Cookie"] = cookie })
end

done = function(summary, latency, requests)
  io.write(string.format("requests %d\n", summary.requests))
  io.write(string.format("failed %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("p99 %.2f\n", latency:percentile(99) / 1000))
end
