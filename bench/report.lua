-- wrk script for `make bench` (bench/load.py runs it): done() prints one JSON line of results.
--
-- The environment can turn plain GETs into signed-in traffic (the bench writes the files):
--   BENCH_THREADS        wrk's -t, so each thread takes its own share of the lines below
--   BENCH_COOKIE_NAME    Django's session cookie name
--   BENCH_SESSIONS_FILE  one session key per line: each GET is sent as the next member
--   BENCH_WRITES_FILE    lines "<session key> <title slug>", pairs where that member has no
--                        review of that title yet: requests alternate between posting the
--                        next unused pair (creates a review) and posting again a pair this
--                        thread already posted (edits that review)
--   BENCH_CSRF_SECRET    32 characters of [a-zA-Z0-9], sent as cookie and as form field; the
--                        cookie goes with every signed-in GET too, as a browser sends it
--                        once a page with a form has set it
--   BENCH_HEADLINE       how the posted reviews' headlines start (the runner finds them by it)
--
-- Mix mode (`python -m bench --soak`): one run whose requests rotate through kinds.
--   BENCH_MIX_FILE       one kind per line: a thread's n-th request is of the kind on line n,
--                        round and round (threads start half a round apart)
--   BENCH_PATHS_FILE     "<kind> <path>" lines: the pages each reading kind rotates through;
--                        kind "signed-in" sends each GET as the next member of
--                        BENCH_SESSIONS_FILE, the others anonymously
--   BENCH_WRITES_FILE    kind "review": as above, but each thread takes its own lines, and
--                        an edit goes to the oldest review this thread posted that has had
--                        fewer than BENCH_EDITS_PER_REVIEW edits (a fixed budget per member)
--   BENCH_VOTES_FILE     kind "vote": "<session key> <review id>" lines; a thread marks the
--                        next line's review helpful, and every other vote takes back a mark
--                        it made BENCH_VOTE_LAG votes earlier: each line is toggled twice at most
--   BENCH_COMMENTS_FILE  kind "comment": "<session key> <review id>", one comment per line
--   BENCH_COMMENT_TEXT   how the comments start (the runner finds them by it)
-- A write kind whose lines ran out sends the first path instead and is counted as exhausted.

local threads = {}
-- Write run: an edit goes to the review posted this many creates before. Small: a member
-- may hold a pair on each of the 7 titles, and must stay under 30 review posts an hour.
local EDIT_LAG = 4

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

  if os.getenv("BENCH_MIX_FILE") then
    mix_init()
  end
end

-- What a signed-in browser sends: its session, and its CSRF cookie once it has one.
local function member_cookies(session)
  if csrf_secret ~= "" then
    return cookie_name .. "=" .. session .. "; csrftoken=" .. csrf_secret
  end
  return cookie_name .. "=" .. session
end

-- What a signed-in browser posts a form with.
local function signed_in_headers(session)
  return {
    ["Cookie"] = cookie_name .. "=" .. session .. "; csrftoken=" .. csrf_secret,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
end

local function review_post(pair)
  local rating = sent % 10 + 1
  local fields = {
    "csrfmiddlewaretoken=" .. csrf_secret,
    "rating=" .. rating,
    "headline=" .. url_encode(headline .. " " .. sent),
    "body=" .. url_encode("The dance battle in the finale, seen again for request " .. sent .. "."),
  }
  -- One post in ten in Spanish, as one in ten of the bench data's reviews are; the others
  -- name no language (a new review takes the page's, English; an edit keeps its own).
  if sent % 10 == 9 then
    table.insert(fields, "language=es")
  end
  return wrk.format(
    "POST", "/titles/" .. pair.slug .. "/review/", signed_in_headers(pair.session),
    table.concat(fields, "&")
  )
end

-- --- Mix mode ---------------------------------------------------------------------------

local function add(counts, key, amount)
  counts[key] = (counts[key] or 0) + (amount or 1)
end

-- This thread's share of a "<first> <second>" file: lines thread_index + 1, then every
-- thread_count-th, so no two threads ever send the same line.
local function own_lines(path, first_name, second_name)
  local own = {}
  for index, line in ipairs(read_lines(path)) do
    if (index - 1) % thread_count == thread_index then
      local first, second = line:match("^(%S+)%s+(%S+)$")
      table.insert(own, { [first_name] = first, [second_name] = second })
    end
  end
  return own
end

-- A first-in, first-out queue: the oldest review still to edit, the oldest mark to take back.
local function queue()
  return { first = 1, last = 0, items = {} }
end

local function push(q, item)
  q.last = q.last + 1
  q.items[q.last] = item
end

local function pop(q)
  if q.first > q.last then
    return nil
  end
  local item = q.items[q.first]
  q.items[q.first] = nil
  q.first = q.first + 1
  return item
end

local function length(q)
  return q.last - q.first + 1
end

function mix_init()
  mix = read_lines(os.getenv("BENCH_MIX_FILE"))
  -- Half a round apart: two threads do not send the same kind at the same moment.
  mix_offset = math.floor(thread_index * #mix / thread_count)
  paths = {}
  for _, line in ipairs(read_lines(os.getenv("BENCH_PATHS_FILE"))) do
    local kind, path = line:match("^(%S+)%s+(%S+)$")
    paths[kind] = paths[kind] or {}
    table.insert(paths[kind], path)
  end
  fallback_path = read_lines(os.getenv("BENCH_PATHS_FILE"))[1]:match("^%S+%s+(%S+)$")
  -- Counters that done() adds up over the threads: requests sent per kind, answers per
  -- status and per recognised outcome, write kinds whose lines ran out.
  kinds_sent = {}
  statuses = {}
  outcomes = {}
  exhausted = {}
  kind_count = {}

  edits_per_review = tonumber(os.getenv("BENCH_EDITS_PER_REVIEW") or "3")
  if os.getenv("BENCH_WRITES_FILE") then
    review_pairs = own_lines(os.getenv("BENCH_WRITES_FILE"), "session", "slug")
  else
    review_pairs = {}
  end
  next_review = 1
  editable = queue()

  vote_lag = tonumber(os.getenv("BENCH_VOTE_LAG") or "8")
  vote_lines = os.getenv("BENCH_VOTES_FILE")
      and own_lines(os.getenv("BENCH_VOTES_FILE"), "session", "review")
    or {}
  next_vote = 1
  marked = queue()

  comment_lines = os.getenv("BENCH_COMMENTS_FILE")
      and own_lines(os.getenv("BENCH_COMMENTS_FILE"), "session", "review")
    or {}
  next_comment = 1
  comment_text = os.getenv("BENCH_COMMENT_TEXT") or "Bench soak comment"
end

local function next_review_request()
  local count = kind_count["review"]
  -- Creates and edits alternate, as in the write run; an edit needs a review to edit.
  if (count % 2 == 1 or length(editable) == 0) and next_review <= #review_pairs then
    local pair = review_pairs[next_review]
    next_review = next_review + 1
    pair.edits = 0
    if edits_per_review > 0 then
      push(editable, pair)
    end
    return review_post(pair)
  end
  local pair = pop(editable)
  if pair == nil then
    return nil
  end
  pair.edits = pair.edits + 1
  if pair.edits < edits_per_review then
    push(editable, pair)
  end
  return review_post(pair)
end

local function vote_post(line)
  local headers = signed_in_headers(line.session)
  -- What the page's script sends: the answer is JSON, a refusal a 403 (never a redirect).
  headers["Accept"] = "application/json"
  return wrk.format(
    "POST", "/reviews/" .. line.review .. "/helpful/", headers,
    "csrfmiddlewaretoken=" .. csrf_secret
  )
end

local function next_vote_request()
  local count = kind_count["vote"]
  local take_back = count % 2 == 0 and length(marked) >= vote_lag
  if not take_back and next_vote <= #vote_lines then
    local line = vote_lines[next_vote]
    next_vote = next_vote + 1
    push(marked, line)
    return vote_post(line)
  end
  local line = pop(marked)
  if line == nil then
    return nil
  end
  return vote_post(line)
end

local function next_comment_request()
  local line = comment_lines[next_comment]
  if line == nil then
    return nil
  end
  next_comment = next_comment + 1
  local body = comment_text .. " " .. thread_index .. "-" .. next_comment
    .. ": the rooftop battle is still the best five minutes of the series."
  return wrk.format(
    "POST", "/reviews/" .. line.review .. "/comments/", signed_in_headers(line.session),
    "csrfmiddlewaretoken=" .. csrf_secret .. "&body=" .. url_encode(body)
  )
end

local write_requests = {
  review = next_review_request,
  vote = next_vote_request,
  comment = next_comment_request,
}

function mix_request()
  local kind = mix[(sent - 1 + mix_offset) % #mix + 1]
  add(kinds_sent, kind)
  add(kind_count, kind)
  local write = write_requests[kind]
  if write then
    local prepared = write()
    if prepared then
      return prepared
    end
    add(exhausted, kind)
    return wrk.format("GET", fallback_path)
  end
  local choices = paths[kind]
  local path = choices[(kind_count[kind] - 1) % #choices + 1]
  if kind == "signed-in" then
    local session = sessions[(thread_index + kind_count[kind] * thread_count) % #sessions + 1]
    return wrk.format("GET", path, { ["Cookie"] = member_cookies(session) })
  end
  return wrk.format("GET", path)
end

-- The label of the first { text, label } pair whose text `found_in` holds, else `otherwise`.
local function first_label(found_in, pairs, otherwise)
  for _, pair in ipairs(pairs) do
    if found_in:find(pair[1], 1, true) then
      return pair[2]
    end
  end
  return otherwise
end

-- Where a redirect goes, and what a page's Content-Type is, say what the answer is.
local REDIRECTS = {
  { "/accounts/login/", "redirected to sign-in" },
  { "#your-review", "review saved" },
  { "#comment-", "comment posted" },
}
local CONTENT_TYPES = { { "xml", "feed" }, { "text/html", "page" } }

-- What an answer says it is: wrk does not tell which request it answers, so the outcome is
-- read from the answer itself (the runner compares it with what was sent).
local function outcome(status, headers, body)
  local location = headers["Location"] or headers["location"] or ""
  local content_type = headers["Content-Type"] or headers["content-type"] or ""
  if status == 302 then
    return first_label(location, REDIRECTS, "other redirect")
  elseif status == 200 then
    if content_type:find("application/json", 1, true) then
      if body:find('"voted":%s*true') then
        return "helpful mark on"
      end
      return "helpful mark off"
    end
    return first_label(content_type, CONTENT_TYPES, "other 200")
  end
  return "HTTP " .. status
end

function mix_response(status, headers, body)
  add(statuses, tostring(status))
  local found = outcome(status, headers, body)
  add(outcomes, found)
  if found == "redirected to sign-in" then
    login_redirects = login_redirects + 1
  end
end


function request()
  sent = sent + 1
  if mix then
    return mix_request()
  end
  if unused_pairs then
    local create = sent % 2 == 1 and next_unused <= #unused_pairs
    if create or #posted_pairs == 0 then
      local index = math.min(next_unused, #unused_pairs)
      local pair = unused_pairs[index]
      next_unused = next_unused + thread_count
      table.insert(posted_pairs, pair)
      return review_post(pair)
    end
    -- The review this thread posted EDIT_LAG creates ago (its first, until there are that
    -- many): each review is edited about once. (floor(sent / 2) % #posted_pairs, the index
    -- before, is always 0 here: every edit went to the thread's first review, whose member
    -- then met the review rate limit, 30 posts an hour, and got 429s.)
    return review_post(posted_pairs[math.max(1, #posted_pairs - EDIT_LAG)])
  end
  if sessions then
    local session = sessions[(thread_index + sent * thread_count) % #sessions + 1]
    return wrk.format(nil, nil, { ["Cookie"] = member_cookies(session) })
  end
  return wrk.request()
end

if os.getenv("BENCH_MIX_FILE") then
  -- A session that did not sign in is redirected to the sign-in page: an error here too.
  response = mix_response
elseif os.getenv("BENCH_WRITES_FILE") then
  -- Only the write run pays for wrk handing every response to Lua: a session that did not
  -- sign in would be redirected to the sign-in page, a 302 that wrk counts as a success.
  function response(status, headers, body)
    local location = headers["Location"] or headers["location"] or ""
    if status == 302 and location:find("/accounts/login/", 1, true) then
      login_redirects = login_redirects + 1
    end
  end
end

local function summed(name)
  local total = {}
  for _, thread in ipairs(threads) do
    for key, value in pairs(thread:get(name) or {}) do
      add(total, key, value)
    end
  end
  return total
end

local function json_counts(counts)
  local keys = {}
  for key in pairs(counts) do
    table.insert(keys, key)
  end
  table.sort(keys)
  local parts = {}
  for _, key in ipairs(keys) do
    table.insert(parts, string.format('"%s": %d', key, counts[key]))
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local redirected_to_login = 0
  for _, thread in ipairs(threads) do
    redirected_to_login = redirected_to_login + (thread:get("login_redirects") or 0)
  end
  local errors = summary.errors
  local seconds = summary.duration / 1e6
  local mix_fields = ""
  if os.getenv("BENCH_MIX_FILE") then
    mix_fields = string.format(
      ', "kinds": %s, "statuses": %s, "outcomes": %s, "exhausted": %s',
      json_counts(summed("kinds_sent")),
      json_counts(summed("statuses")),
      json_counts(summed("outcomes")),
      json_counts(summed("exhausted"))
    )
  end
  -- wrk's latency is in microseconds; the report is in milliseconds.
  io.write(string.format(
    '{"requests": %d, "duration_s": %.3f, "rps": %.2f, "p50_ms": %.2f, "p95_ms": %.2f, '
      .. '"p99_ms": %.2f, "max_ms": %.2f, "errors": %d, "connect": %d, "read": %d, '
      .. '"write": %d, "timeout": %d, "status": %d, "login_redirects": %d%s}\n',
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
    redirected_to_login,
    mix_fields
  ))
end
