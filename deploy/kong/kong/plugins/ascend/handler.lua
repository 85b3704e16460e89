-- Kong 3.x plugin `ascend`: asks the ascend sidecar whether a request may
-- reach the upstream, and applies the answer exactly as given.
--
-- The plugin is a translator, not a policy engine: it sends what Kong knows
-- about the request (POST /kong/v1/authorize), and turns the sidecar's answer
-- into upstream headers (allow) or a client response (deny / pending). Path
-- normalization, identity and policy all live in the sidecar, so every
-- gateway gets the same decision for the same request. An optional
-- per-worker cache of plain allows (decision_cache.lua, off by default)
-- can answer a repeated request without the sidecar.
local cjson = require "cjson.safe"
local http = require "resty.http"
local decision_cache = require "kong.plugins.ascend.decision_cache"

local kong = kong
local ngx = ngx
local null = ngx.null

local type = type
local pairs = pairs
local tostring = tostring
local floor = math.floor
local byte = string.byte
local sub = string.sub
local find = string.find
local gsub = string.gsub


local VERSION = "0.1.0"
local AUTHORIZE_PATH = "/kong/v1/authorize"
local COMPLETE_PATH = "/kong/v1/complete"
local USER_AGENT = "kong-plugin-ascend/" .. VERSION
-- Carries conf.gateway_token: the sidecar answers 401 without it when its
-- gateway_access.token is set (and the plugin then applies its fail_mode).
local GATEWAY_TOKEN_HEADER = "x-ascend-gateway-token"

-- Fail-closed answer. 503 rather than 403: nothing was decided, the
-- authorization service is unavailable, and a client (an agent) should
-- retry later instead of treating it as a policy denial. The body keeps the
-- field names of the sidecar's own denial bodies.
local FAIL_CLOSED_STATUS = 503
local FAIL_CLOSED_BODY = '{"decision":"denied","reason":"authorization_unavailable",'
                      .. '"message":"authorization service unavailable"}'

-- Used when the sidecar denies but sends a status we cannot apply.
local DEFAULT_DENY_STATUS = 403


local AscendHandler = {
  -- After every bundled authentication plugin (the lowest, hmac-auth, is
  -- 1030) so kong.client.get_consumer() is set, and after acl (950): Kong
  -- orders equal priorities by name descending, so 950 would run "ascend"
  -- before "acl". Before rate-limiting (910) and request-transformer (801),
  -- so the sidecar judges what the client sent.
  PRIORITY = 940,
  VERSION = VERSION,
}


-- Copies only the named fields of a Kong entity. Entities carry more than
-- the sidecar needs, and credentials carry secrets (a key-auth `key`, a
-- basic-auth `password`): only ids and names ever leave the gateway.
local function pick(entity, fields)
  if type(entity) ~= "table" then
    return nil
  end
  local out = {}
  for i = 1, #fields do
    local name = fields[i]
    out[name] = entity[name]
  end
  return out
end


-- Cuts `body` to at most `max` bytes without splitting a UTF-8 sequence, so
-- the JSON string stays valid UTF-8 for the sidecar's parser. Binary bodies
-- are cut at most 3 bytes shorter than `max`.
local function truncate_utf8(body, max)
  local cut = max
  -- A continuation byte (10xxxxxx) right after the cut means the cut falls
  -- inside a sequence: step back until the excluded part starts at the
  -- sequence's lead byte (a sequence has at most 3 continuation bytes).
  for _ = 1, 3 do
    local b = byte(body, cut + 1)
    if cut == 0 or not b or b < 0x80 or b >= 0xC0 then
      break
    end
    cut = cut - 1
  end
  return sub(body, 1, cut)
end


-- Returns body, truncated. get_raw_body() gives nil when nginx buffered the
-- body to a file (larger than client_body_buffer_size): we then send no body
-- and say it was truncated, rather than reading files on the hot path.
local function request_body(conf)
  local body, err = kong.request.get_raw_body()
  if not body then
    kong.log.debug("ascend: request body not sent: ", err)
    return nil, true
  end
  if #body > conf.max_body_bytes then
    return truncate_utf8(body, conf.max_body_bytes), true
  end
  return body, false
end


-- Builds the POST /kong/v1/authorize body (the contract with the sidecar's
-- Kong endpoint; test/fixtures/kong/plugin-requests.json pins it).
local function authorize_payload(conf, headers)
  local request = {
    method = kong.request.get_method(),
    scheme = kong.request.get_scheme(),
    host = kong.request.get_host(),
    port = kong.request.get_port(),
    -- Raw, not normalized: the sidecar normalizes once, for every gateway,
    -- and must see traversal tricks as the upstream would receive them.
    path = kong.request.get_raw_path(),
    raw_query = kong.request.get_raw_query(),
    headers = headers,
  }
  if conf.send_body then
    request.body, request.body_truncated = request_body(conf)
  end

  return {
    request = request,
    client_ip = kong.client.get_forwarded_ip(),
    consumer = pick(kong.client.get_consumer(), { "id", "username", "custom_id" }),
    credential = pick(kong.client.get_credential(), { "id" }),
    route = pick(kong.router.get_route(), { "id", "name" }),
    service = pick(kong.router.get_service(), { "id", "name" }),
    agent_id_from = conf.agent_id_from_consumer,
  }
end


-- An optional field's value, or `default` when it is unset: nil, or the
-- null (ngx.null) that Kong's schema gives a field without a default when a
-- config is read with its nulls.
local function or_default(value, default)
  if value == nil or value == null then
    return default
  end
  return value
end


-- POSTs a JSON body to the sidecar over a pooled keep-alive connection.
-- request_uri (lua-resty-http 0.17) owns the connection on every path: a
-- response read in full, whatever its status (a denial, a 401, a 500, a body
-- that is not JSON), ends with set_keepalive(keepalive_timeout,
-- keepalive_pool), which hands it back to this worker's pool for the
-- sidecar's host:port unless the sidecar said `Connection: close`; an error
-- after connecting (send, read, timeout) closes it, since a half-read
-- connection cannot be reused; a failed connect leaves nothing open. The
-- handler reads `res.body` only after request_uri returned, so no path of
-- ours can keep a connection out of the pool. `pool_size` goes to connect
-- so the pool gets keepalive_pool_size even when connect creates it.
local function post(conf, path, body)
  local httpc, new_err = http.new()
  if not httpc then
    return nil, "cannot create HTTP client: " .. tostring(new_err)
  end
  httpc:set_timeouts(or_default(conf.connect_timeout_ms, conf.timeout_ms),
                     or_default(conf.send_timeout_ms, conf.timeout_ms),
                     or_default(conf.read_timeout_ms, conf.timeout_ms))
  local headers = {
    ["content-type"] = "application/json",
    ["user-agent"] = USER_AGENT,
  }
  if type(conf.gateway_token) == "string" then
    headers[GATEWAY_TOKEN_HEADER] = conf.gateway_token
  end
  return httpc:request_uri(gsub(conf.sidecar_url, "/+$", "") .. path, {
    method = "POST",
    body = body,
    headers = headers,
    ssl_verify = conf.ssl_verify,
    pool_size = conf.keepalive_pool_size,
    keepalive_timeout = conf.keepalive_timeout_ms,
    keepalive_pool = conf.keepalive_pool_size,
  })
end


-- Returns the header map of an answer: nil when absent (or JSON null),
-- false when malformed. Kong's set_header functions raise an error on values
-- other than strings, numbers and booleans, so the whole map is checked
-- before any of it is applied.
local function header_map(map)
  if map == nil or map == cjson.null then
    return nil
  end
  if type(map) ~= "table" then
    return false
  end
  for name, value in pairs(map) do
    local vt = type(value)
    if type(name) ~= "string" or name == ""
       or (vt ~= "string" and vt ~= "number" and vt ~= "boolean") then
      return false
    end
  end
  return map
end


local function is_status(status)
  return type(status) == "number" and status == floor(status)
     and status >= 100 and status <= 599
end


-- Returns the decoded answer, or nil and why it cannot be applied. An
-- answer that is not exactly applicable counts as "no answer" (fail mode).
local function read_answer(res, err)
  if not res then
    return nil, err or "no response"
  end
  if res.status ~= 200 then
    return nil, "sidecar answered HTTP " .. tostring(res.status)
  end
  local answer, decode_err = cjson.decode(res.body or "")
  if type(answer) ~= "table" then
    return nil, "sidecar answer is not a JSON object" .. (decode_err and ": " .. decode_err or "")
  end
  if type(answer.allow) ~= "boolean" then
    return nil, "sidecar answer has no boolean `allow`"
  end
  return answer
end


-- Client-sent x-ascend-* headers are never trusted (DESIGN.md): an upstream
-- must only see the ones the sidecar set for this request.
local function clear_client_ascend_headers(headers)
  for name in pairs(headers) do
    if type(name) == "string" and find(name, "^[Xx]%-[Aa][Ss][Cc][Ee][Nn][Dd]%-") then
      kong.service.request.clear_header(name)
    end
  end
end


local function fail(conf, reason, headers)
  if conf.fail_mode == "open" then
    kong.log.warn("ascend: sidecar unavailable, failing open: ", reason)
    clear_client_ascend_headers(headers)
    kong.service.request.set_header("x-ascend-fail-open", "true")
    return
  end
  kong.log.err("ascend: sidecar unavailable, failing closed: ", reason)
  return kong.response.exit(FAIL_CLOSED_STATUS, FAIL_CLOSED_BODY, {
    ["content-type"] = "application/json",
    ["x-ascend-decision"] = "denied",
  })
end


-- A denial is applied even when parts of it are malformed: a "no" from the
-- sidecar must never turn into fail-open. Bad parts fall back to safe values.
local function deny(answer)
  local status, body, headers = answer.status, answer.body, header_map(answer.client_headers)
  if not is_status(status) then
    kong.log.warn("ascend: denial without a usable status, using ", DEFAULT_DENY_STATUS)
    status = DEFAULT_DENY_STATUS
  end
  if type(body) ~= "string" then
    body = nil -- JSON null or absent: an empty body
  end
  if headers == false then
    kong.log.warn("ascend: denial with malformed client_headers, not sent")
    headers = nil
  end
  return kong.response.exit(status, body, headers)
end


local function allow(conf, answer, headers)
  local upstream, client = header_map(answer.upstream_headers), header_map(answer.client_headers)
  if upstream == false or client == false then
    return fail(conf, "sidecar allowed with malformed headers", headers)
  end

  clear_client_ascend_headers(headers)
  if upstream then
    for name, value in pairs(upstream) do
      kong.service.request.set_header(name, value)
    end
  end

  local ctx = kong.ctx.plugin
  ctx.client_headers = client
  if type(answer.action_id) == "string" and answer.action_id ~= "" then
    ctx.action_id = answer.action_id
  end
end


-- A decision from the plugin's cache (decision_cache.lua): the stored
-- upstream and client headers, which carry x-ascend-cache and no action id,
-- so no completion is sent for a request the sidecar never saw.
local function allow_cached(entry, headers)
  clear_client_ascend_headers(headers)
  for name, value in pairs(entry.upstream_headers) do
    kong.service.request.set_header(name, value)
  end
  kong.ctx.plugin.client_headers = entry.client_headers
end


function AscendHandler:access(conf)
  local headers = kong.request.get_headers()
  local request = authorize_payload(conf, headers)

  local cache = decision_cache.for_conf(conf)
  local key = cache and cache:key(request)
  if key then
    local entry = cache:get(key)
    if entry then
      return allow_cached(entry, headers)
    end
  end

  local payload, encode_err = cjson.encode(request)
  if not payload then
    return fail(conf, "cannot encode request: " .. tostring(encode_err), headers)
  end

  local answer, err = read_answer(post(conf, AUTHORIZE_PATH, payload))
  if not answer then
    return fail(conf, err, headers)
  end
  if answer.allow then
    -- store() takes plain allows only; one with malformed headers is not
    -- one (and allow() fails it).
    if key then
      cache:store(key, answer)
    end
    return allow(conf, answer, headers)
  end
  return deny(answer)
end


function AscendHandler:header_filter(conf) -- luacheck: ignore 212
  local client_headers = kong.ctx.plugin.client_headers
  if client_headers then
    for name, value in pairs(client_headers) do
      kong.response.set_header(name, value)
    end
  end
end


-- Runs in a timer: the log phase cannot use cosockets, and the client has
-- its response already, so nothing here may delay it. A completion lost at
-- worker shutdown (`premature`) is still attempted: it is one short POST.
local function send_completion(premature, conf, payload) -- luacheck: ignore 212
  local res, err = post(conf, COMPLETE_PATH, payload)
  if not res then
    kong.log.warn("ascend: completion not delivered: ", err)
  elseif res.status < 200 or res.status > 299 then
    kong.log.warn("ascend: completion rejected with HTTP ", res.status)
  end
end


local function latencies()
  local ok, entry = pcall(kong.log.serialize)
  local l = ok and type(entry) == "table" and entry.latencies
  if type(l) ~= "table" then
    return nil
  end
  return { request = l.request, proxy = l.proxy, kong = l.kong }
end


function AscendHandler:log(conf)
  local action_id = kong.ctx.plugin.action_id
  if not conf.send_completion or not action_id then
    return
  end
  local payload, encode_err = cjson.encode({
    action_id = action_id,
    upstream_status = kong.response.get_status(),
    latencies = latencies(),
  })
  if not payload then
    kong.log.warn("ascend: cannot encode completion: ", encode_err)
    return
  end
  local ok, err = ngx.timer.at(0, send_completion, conf, payload)
  if not ok then
    kong.log.warn("ascend: cannot schedule completion: ", err)
  end
end


return AscendHandler
