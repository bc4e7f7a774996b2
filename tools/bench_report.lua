-- wrk script for `make bench` (tools/bench.py): done() prints one JSON line of results.
--
-- The environment can turn plain GETs into signed-in traffic (tools/bench.py writes the files):
--   BENCH_THREADS        wrk's -t, so each thread takes its own share of the lines below
--   BENCH_COOKIE_NAME    Django's session cookie name
--   BENCH_SESSIONS_FILE  one session key per line: each GET is sent as the next member
--   BENCH_WRITES_FILE    lines "<session key> <title slug>", pairs where that member has no
--                        review of that title yet: requests alternate between posting the
--                        next unused pair (creates a review) and posting again a pair this
--                        thread already posted (edits that review)
--   BENCH_CSRF_SECRET    32 characters of [a-zA-Z0-9], sent as cookie and as form field
--   BENCH_HEADLINE       how the posted reviews' headlines start (the runner finds them by it)

local threads = {}

function setup(thread)
  -- Called in the main state before each thread's init(): a 0-based index to split work by.
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

local function read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    if line ~= "" then
      table.insert(lines, line)
    end
  end
  return lines
end

local function url_encode(text)
  return (text:gsub("[^%w%-%._~]", function(char)
    return string.format("%%%02X", string.byte(char))
  end))
end

function init(args)
  thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")
  cookie_name = os.getenv("BENCH_COOKIE_NAME") or "sessionid"
  csrf_secret = os.getenv("BENCH_CSRF_SECRET") or ""
  headline = os.getenv("BENCH_HEADLINE") or "Bench run take"
  sent = 0
  login_redirects = 0

  local sessions_file = os.getenv("BENCH_SESSIONS_FILE")
  if sessions_file then
    sessions = read_lines(sessions_file)
  end

  local writes_file = os.getenv("BENCH_WRITES_FILE")
  if writes_file then
    unused_pairs = {}
    for _, line in ipairs(read_lines(writes_file)) do
      local session, slug = line:match("^(%S+)%s+(%S+)$")
      table.insert(unused_pairs, { session = session, slug = slug })
    end
    -- Threads start at different lines and step by the thread count: no two threads ever
    -- create the same review, so "create" really means a new row.
    next_unused = thread_index + 1
    posted_pairs = {}
  end
end

local function review_post(pair)
  local rating = sent % 10 + 1
  local fields = {
    "csrfmiddlewaretoken=" .. csrf_secret,
    "rating=" .. rating,
    "headline=" .. url_encode(headline .. " " .. sent),
    "body=" .. url_encode("The dance battle in the finale, seen again for request " .. sent .. "."),
  }
  local headers = {
    ["Cookie"] = cookie_name .. "=" .. pair.session .. "; csrftoken=" .. csrf_secret,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  return wrk.format("POST", "/titles/" .. pair.slug .. "/review/", headers, table.concat(fields, "&"))
end

function request()
  sent = sent + 1
  if unused_pairs then
    local create = sent % 2 == 1 and next_unused <= #unused_pairs
    if create or #posted_pairs == 0 then
      local index = math.min(next_unused, #unused_pairs)
      local pair = unused_pairs[index]
      next_unused = next_unused + thread_count
      table.insert(posted_pairs, pair)
      return review_post(pair)
    end
    return review_post(posted_pairs[math.floor(sent / 2) % #posted_pairs + 1])
  end
  if sessions then
    local session = sessions[(thread_index + sent * thread_count) % #sessions + 1]
    return wrk.format(nil, nil, { ["Cookie"] = cookie_name .. "=" .. session })
  end
  return wrk.request()
end

if os.getenv("BENCH_WRITES_FILE") then
  -- Only the write run pays for wrk handing every response to Lua: a session that did not
  -- sign in would be redirected to the sign-in page, a 302 that wrk counts as a success.
  function response(status, headers, body)
    local location = headers["Location"] or headers["location"] or ""
    if status == 302 and location:find("/accounts/login/", 1, true) then
      login_redirects = login_redirects + 1
    end
  end
end

function done(summary, latency, requests)
  local redirected_to_login = 0
  for _, thread in ipairs(threads) do
    redirected_to_login = redirected_to_login + (thread:get("login_redirects") or 0)
  end
  local errors = summary.errors
  local seconds = summary.duration / 1e6
  -- wrk's latency is in microseconds; the report is in milliseconds.
  io.write(string.format(
    '{"requests": %d, "duration_s": %.3f, "rps": %.2f, "p50_ms": %.2f, "p95_ms": %.2f, '
      .. '"p99_ms": %.2f, "max_ms": %.2f, "errors": %d, "connect": %d, "read": %d, '
      .. '"write": %d, "timeout": %d, "status": %d, "login_redirects": %d}\n',
    summary.requests,
    seconds,
    summary.requests / seconds,
    latency:percentile(50) / 1000,
    latency:percentile(95) / 1000,
    latency:percentile(99) / 1000,
    latency.max / 1000,
    errors.connect + errors.read + errors.write + errors.timeout + errors.status
      + redirected_to_login,
    errors.connect,
    errors.read,
    errors.write,
    errors.timeout,
    errors.status,
    redirected_to_login
  ))
end
