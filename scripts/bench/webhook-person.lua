-- wrk script for the fake integration's live-event route: POSTs a ~500-byte `person.updated`
-- event; every request carries a distinct person id (thread * 1e8 + counter), so every
-- accepted event is one more `fake-person` entity in Port.
-- done() prints one machine-readable line: RESULT {json}, latencies in ms (same fields as the
-- benchmark kit's webhook.lua, so the same tooling reads both).
local thread_seq = 0
function setup(thread)
  thread:set("tid", thread_seq)
  thread_seq = thread_seq + 1
end

local TEMPLATE = '{"type":"person.updated","delivery":"d-%d","person":{"id":"person-%d",'
  .. '"name":"Person Number %d","email":"person.%d@bench.example.com","status":"WORKING","age":39,'
  .. '"department_id":"dept-%d","address":{"street":"92 Example Street","city":"Tel Aviv",'
  .. '"country":"IL","zip":"55433"},"skills":["jq","kafka","redis"],"manager_id":"person-0000000",'
  .. '"phone":"+1-555-0217","tags":{"team":"team-7","level":"L1"},'
  .. '"updated_at":"2025-01-08T07:07:00Z","bio":"elit dolor sit amet"}}'

local counter = 0
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  counter = 0
end

function request()
  counter = counter + 1
  local n = (tid or 0) * 100000000 + counter
  return wrk.format("POST", nil, headers, string.format(TEMPLATE, n, n, n, n, n % 10))
end

function done(summary, latency, requests)
  local e = summary.errors
  local ms = function(us) return us / 1000.0 end
  io.write(string.format(
    'RESULT {"requests":%d,"duration_s":%.3f,"rps":%.1f,"bytes":%d,'
    .. '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,'
    .. '"lat_mean_ms":%.3f,"lat_stdev_ms":%.3f,"lat_p50_ms":%.3f,"lat_p90_ms":%.3f,'
    .. '"lat_p99_ms":%.3f,"lat_p999_ms":%.3f,"lat_max_ms":%.3f}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    ms(latency.mean), ms(latency.stdev), ms(latency:percentile(50)), ms(latency:percentile(90)),
    ms(latency:percentile(99)), ms(latency:percentile(99.9)), ms(latency.max)))
end
