-- Per-worker, short-TTL cache of the sidecar's plain allows (config
-- `cache_ttl_ms`, off at 0, the default).
--
-- What it trades: a hit skips the sidecar, so it is in no decision log,
-- audit trail, metric or completion of the sidecar's, and a kill switch,
-- policy reload, agent change or approval revoked there reaches cached
-- requests only when their entry expires (at most cache_ttl_ms later).
-- Denials and pending answers are never cached, so whatever the sidecar
-- starts allowing takes effect at once; only new denials wait for the TTL.
--
-- Correctness rests on two rules:
--   * the key covers everything the plugin sends that the decision can
--     depend on: the whole authorize payload (method, scheme, host, port,
--     raw path and query, every request header but the configured volatile
--     ones, the body and body_truncated when send_body is on, client_ip,
--     consumer, credential, route and service ids and names,
--     agent_id_from), and each plugin instance (each conf table) has its own
--     cache, so sidecars, tokens and configs never share entries;
--   * only a plain allow is stored: allow = true, decision "allowed", status
--     200, no approval_id, and no header outside a short allowlist, so an
--     answer carrying any marker (x-ascend-fail-open, x-ascend-monitor,
--     x-ascend-flagged, x-ascend-approval-id, x-ascend-status-url,
--     retry-after, or one added later) is never reused.
local lrucache = require "resty.lrucache"
local sha256 = require "resty.sha256"

local kong = kong
local ngx = ngx
local null = ngx.null

local type = type
local pairs = pairs
local tostring = tostring
local concat = table.concat
local sort = table.sort
local lower = string.lower
local format = string.format


local M = {}

-- Marks a decision served from this cache, on the upstream request and the
-- client response (`plugin`: the plugin's cache, not the sidecar's).
M.HEADER = "x-ascend-cache"
M.HEADER_VALUE = "plugin"

local ACTION_ID = "x-ascend-action-id"

-- The only headers a cacheable allow may carry. The action id is dropped
-- from what is stored: it names the one request the sidecar decided.
local UPSTREAM_ALLOWED = {
  ["x-ascend-decision"] = true,
  ["x-ascend-action-id"] = true,
  ["x-ascend-risk-score"] = true,
  ["x-ascend-policy-id"] = true,
}
local CLIENT_ALLOWED = {
  ["x-ascend-decision"] = true,
  ["x-ascend-action-id"] = true,
}

-- Bumped whenever the key's encoding changes.
local KEY_VERSION = "ascend-cache-1;"


-- Copies `map` without the action id; nil when a name is not in `allowed`
-- or a value is not a string, number or boolean.
local function cacheable_headers(map, allowed)
  local out = {}
  for name, value in pairs(map) do
    if type(name) ~= "string" then
      return nil
    end
    local lname = lower(name)
    local vt = type(value)
    if not allowed[lname] or (vt ~= "string" and vt ~= "number" and vt ~= "boolean") then
      return nil
    end
    if lname ~= ACTION_ID then
      out[name] = value
    end
  end
  return out
end


-- The entry to store for `answer`, or nil when it is anything but a plain
-- allow. Entries are fresh tables that nothing else holds.
function M.entry(answer)
  if answer.allow ~= true or answer.decision ~= "allowed" or answer.status ~= 200 then
    return nil
  end
  if answer.approval_id ~= nil and answer.approval_id ~= null then
    return nil
  end
  local upstream_map, client_map = answer.upstream_headers, answer.client_headers
  if type(upstream_map) ~= "table" then
    return nil
  end
  if client_map == nil or client_map == null then
    client_map = {}
  elseif type(client_map) ~= "table" then
    return nil
  end
  local upstream = cacheable_headers(upstream_map, UPSTREAM_ALLOWED)
  local client = upstream and cacheable_headers(client_map, CLIENT_ALLOWED)
  if not client then
    return nil
  end
  -- Positive evidence, not just the absence of markers.
  local decision
  for name, value in pairs(upstream) do
    if lower(name) == "x-ascend-decision" then
      decision = value
    end
  end
  if decision ~= "allowed" then
    return nil
  end
  upstream[M.HEADER] = M.HEADER_VALUE
  client[M.HEADER] = M.HEADER_VALUE
  return { upstream_headers = upstream, client_headers = client }
end


-- Orders keys of mixed types (strings, numbers) deterministically.
local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then
    return ta < tb
  end
  return a < b
end


-- Appends an unambiguous encoding of `value` to `buf`: every string is
-- length-prefixed and every table's keys are sorted, so two values encode
-- alike exactly when they are equal (pairs() order does not matter).
-- Returns false for a value it cannot encode (then nothing is cached).
local function encode(buf, value)
  local t = type(value)
  if t == "string" then
    buf[#buf + 1] = "s" .. #value .. ":"
    buf[#buf + 1] = value
  elseif t == "number" then
    buf[#buf + 1] = format("n%.17g;", value)
  elseif t == "boolean" then
    buf[#buf + 1] = value and "T" or "F"
  elseif value == null then
    buf[#buf + 1] = "z"
  elseif t == "table" then
    local keys = {}
    for k in pairs(value) do
      local kt = type(k)
      if kt ~= "string" and kt ~= "number" then
        return false
      end
      keys[#keys + 1] = k
    end
    sort(keys, key_less)
    buf[#buf + 1] = "{" .. #keys .. ";"
    for i = 1, #keys do
      local k = keys[i]
      if not encode(buf, k) or not encode(buf, value[k]) then
        return false
      end
    end
    buf[#buf + 1] = "}"
  else
    return false
  end
  return true
end


local Cache = {}
Cache.__index = Cache


-- The SHA-256 of the payload with the volatile headers left out, or nil
-- when the payload cannot be keyed. SHA-256, not a fast hash or MD5: a
-- client choosing two requests that collide would get one's allow for the
-- other, so the digest must resist chosen-input collisions.
function Cache:key(payload)
  local request = payload.request
  local key_request = {}
  for name, value in pairs(request) do
    key_request[name] = value
  end
  local headers = {}
  for name, value in pairs(request.headers or {}) do
    if type(name) ~= "string" then
      return nil
    end
    if not self.volatile[lower(name)] then
      headers[name] = value
    end
  end
  key_request.headers = headers

  local key_payload = {}
  for name, value in pairs(payload) do
    key_payload[name] = value
  end
  key_payload.request = key_request

  local buf = { KEY_VERSION }
  if not encode(buf, key_payload) then
    return nil
  end
  local digest = sha256:new()
  digest:update(concat(buf))
  return digest:final()
end


function Cache:get(key)
  return (self.lru:get(key))
end


-- Stores `answer` under `key` for ttl when it is a plain allow; returns
-- whether it did.
function Cache:store(key, answer)
  local entry = M.entry(answer)
  if not entry then
    return false
  end
  self.lru:set(key, entry, self.ttl)
  return true
end


-- One cache per plugin instance and worker. Kong hands each instance's
-- config to the handler as one table for as long as that config is in use,
-- and builds a new table when the config changes: keyed weakly by that
-- table, a config change starts an empty cache and the old one is collected.
local caches = setmetatable({}, { __mode = "k" })


-- The cache for `conf`, or nil when caching is off (cache_ttl_ms = 0) or
-- the cache cannot be created (logged once per config).
function M.for_conf(conf)
  local ttl_ms = conf.cache_ttl_ms
  if type(ttl_ms) ~= "number" or ttl_ms <= 0 then
    return nil
  end
  local cache = caches[conf]
  if cache == nil then
    local lru, err = lrucache.new(conf.cache_max_entries)
    if not lru then
      kong.log.err("ascend: decision cache off: ", tostring(err))
      cache = false
    else
      local volatile = {}
      local names = conf.cache_ignore_headers
      if type(names) == "table" then
        for i = 1, #names do
          volatile[lower(names[i])] = true
        end
      end
      cache = setmetatable({ lru = lru, ttl = ttl_ms / 1000, volatile = volatile }, Cache)
    end
    caches[conf] = cache
  end
  return cache or nil
end


return M
