-- wrk script for scripts/bench-serve: exact DNSDB rrset lookups of names drawn at random
-- from $NAMES (one per line), with the key in $KEY; prints one RESULT line at the end.
local names = {}
for line in io.lines(os.getenv("NAMES")) do
  names[#names + 1] = line
end
local headers = { ["X-API-Key"] = os.getenv("KEY"), ["Accept"] = "application/x-ndjson" }

request = function()
  local name = names[math.random(#names)]
  return wrk.format("GET", "/dnsdb/v2/lookup/rrset/name/" .. name, headers)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.1f rps=%.0f socket_errors=%d non_2xx=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
