-- A stand-in for exactly the parts of the Kong PDK, ngx and resty.http that
-- the ascend plugin calls, recording every call so specs can assert on them.
-- It exists because Kong (nginx + OpenResty) cannot run where these specs
-- run: the specs check the plugin's logic against this stand-in, not a live
-- Kong.
--
-- Kong is not needed to run the specs: the stand-in is injected through the
-- `kong` / `ngx` globals (which Kong itself provides to plugins) and through
-- package.loaded["resty.http"], then the handler is required fresh.
--
-- resty.lrucache and resty.sha256 (OpenResty libraries the decision cache
-- uses) are stood in for the same way.
--
--   local env = kong_stub.new({ context = {...}, sidecar = { {status=200, body=...} } })
--   local handler = env:load_handler()
--   handler:access(conf)
--   env.exited, env.upstream_headers, env.sidecar_calls, ...
local cjson = require "cjson"

local M = {}

local HANDLER = "kong.plugins.ascend.handler"
local DECISION_CACHE = "kong.plugins.ascend.decision_cache"

-- What the PDK returns when a spec does not say otherwise.
local DEFAULT_CONTEXT = {
  method = "GET",
  scheme = "http",
  host = "api.example.com",
  port = 8000,
  raw_path = "/",
  raw_query = "",
  headers = {},
  body = "",
  forwarded_ip = "10.0.0.7",
  upstream_status = 200,
  latencies = { request = 12, proxy = 8, kong = 3, receive = 0 },
}


local function copy(t)
  local out = {}
  for k, v in pairs(t) do
    out[k] = v
  end
  return out
end


local function message(...)
  local parts = {}
  for i = 1, select("#", ...) do
    parts[#parts + 1] = tostring((select(i, ...)))
  end
  return table.concat(parts)
end


-- resty.http stand-in. Each request_uri call takes the next scripted
-- outcome from env.sidecar:
--   { status = 200, body = "..." }  a response (body read in full)
--   { answer = {...} }               shorthand: HTTP 200 with JSON of `answer`
--   { ..., connection = "close" }    the response says `Connection: close`
--   { err = "timeout", at = "read" } request_uri returns nil, err; `at` is the
--                                    step that failed: "connect" (default),
--                                    "send" or "read"
--
-- The connection handling follows lua-resty-http 0.17's request_uri step by
-- step, since that is what decides whether a connection goes back to the
-- pool: a failed connect leaves nothing open; a failure after it (sending
-- the request, reading the status, headers or body) closes the connection;
-- a response read in full, whatever its status, ends with
-- set_keepalive(keepalive_timeout, keepalive_pool), which pools the
-- connection unless the sidecar answered `Connection: close` (then
-- set_keepalive closes it and returns 2). Every connection is recorded in
-- env.connections with how it ended ("pooled" / "closed"; nil = leaked), a
-- pooled one also in env.keepalives, a closed one counted in env.closes.
local function http_module(env)
  local client_mt = {}
  client_mt.__index = client_mt

  function client_mt:set_timeouts(connect, send, read)
    self.timeouts = { connect, send, read }
    return true
  end

  local function finish(conn, state)
    assert(conn.ended == nil, "connection ended twice (" .. tostring(conn.ended) .. ", " .. state .. ")")
    conn.ended = state
  end

  function client_mt:close()
    local conn = assert(self.conn, "close() without a connection")
    finish(conn, "closed")
    env.closes = env.closes + 1
    return 1
  end

  function client_mt:set_keepalive(timeout, pool)
    local conn = assert(self.conn, "set_keepalive() without a connection")
    if not conn.keepalive then
      self:close()
      return 2, "connection must be closed"
    end
    finish(conn, "pooled")
    env.keepalives[#env.keepalives + 1] = { timeout = timeout, pool = pool }
    return 1
  end

  function client_mt:request_uri(uri, params)
    local outcome = table.remove(env.sidecar, 1)
    if not outcome then
      error("unexpected sidecar call to " .. uri, 2)
    end
    env.sidecar_calls[#env.sidecar_calls + 1] = {
      uri = uri,
      params = params,
      timeouts = self.timeouts,
      json = params.body and cjson.decode(params.body),
    }
    local at = outcome.at or "connect"
    if outcome.err and at == "connect" then
      return nil, outcome.err
    end
    self.conn = { pool_size = params.pool_size, keepalive = outcome.connection ~= "close" }
    env.connections[#env.connections + 1] = self.conn
    if outcome.err then
      self:close()
      return nil, outcome.err
    end
    local body = outcome.body
    if outcome.answer then
      body = cjson.encode(outcome.answer)
    end
    local res = { status = outcome.status or 200, headers = {}, body = body }
    if params.keepalive == false then
      self:close()
    else
      self:set_keepalive(params.keepalive_timeout, params.keepalive_pool)
    end
    return res
  end

  return {
    new = function()
      env.clients = env.clients + 1
      if env.new_error then
        return nil, env.new_error
      end
      return setmetatable({}, client_mt)
    end,
  }
end


-- resty.lrucache stand-in (part of OpenResty, which cannot run here), with
-- the semantics of lua-resty-lrucache: new(n) refuses n < 1; set(key, value,
-- ttl) stores for ttl seconds from ngx.now() (no ttl: for ever), evicting the
-- least recently used entry when full; get(key) returns nil for a missing
-- or expired entry (expired: its expiry time is before ngx.now()), and moves
-- a found one to the front. ngx.now() is env.clock, moved by env:advance().
local function lrucache_module(env)
  local cache_mt = {}
  cache_mt.__index = cache_mt

  local function touch(self, key)
    for i, k in ipairs(self.order) do
      if k == key then
        table.remove(self.order, i)
        break
      end
    end
    table.insert(self.order, 1, key)
  end

  function cache_mt:get(key)
    local node = self.nodes[key]
    if not node then
      return nil
    end
    touch(self, key)
    if node.expire >= 0 and node.expire < env.clock then
      return nil, node.value
    end
    return node.value
  end

  function cache_mt:set(key, value, ttl)
    if not self.nodes[key] and #self.order >= self.size then
      local oldest = table.remove(self.order)
      self.nodes[oldest] = nil
    end
    self.nodes[key] = { value = value, expire = ttl and env.clock + ttl or -1 }
    touch(self, key)
  end

  function cache_mt:count()
    return #self.order
  end

  return {
    new = function(size)
      if size < 1 then
        return nil, "size too small"
      end
      local cache = setmetatable({ size = size, nodes = {}, order = {} }, cache_mt)
      env.lrucaches[#env.lrucaches + 1] = cache
      return cache
    end,
  }
end


-- resty.sha256 stand-in. The digest is the hashed input itself, prefixed
-- "sha256:", so keys are equal exactly when their inputs are (no collision
-- can hide a keying bug) and a spec can read what went into a key. Every
-- final() is recorded in env.digested.
local function sha256_module(env)
  local sha_mt = {}
  sha_mt.__index = sha_mt

  function sha_mt:update(s)
    assert(type(s) == "string", "update() takes a string")
    self.parts[#self.parts + 1] = s
    return true
  end

  function sha_mt:final()
    local input = table.concat(self.parts)
    env.digested[#env.digested + 1] = input
    return "sha256:" .. input
  end

  return {
    new = function()
      return setmetatable({ parts = {} }, sha_mt)
    end,
  }
end


local function kong_pdk(env)
  local ctx = env.context
  local function log_level(level)
    return function(...)
      env.logs[#env.logs + 1] = { level = level, message = message(...) }
    end
  end

  return {
    request = {
      get_method = function() return ctx.method end,
      get_scheme = function() return ctx.scheme end,
      get_host = function() return ctx.host end,
      get_port = function() return ctx.port end,
      get_raw_path = function() return ctx.raw_path end,
      get_raw_query = function() return ctx.raw_query end,
      get_headers = function() return ctx.headers end,
      get_raw_body = function()
        env.body_reads = env.body_reads + 1
        if ctx.body_error then
          return nil, ctx.body_error
        end
        return ctx.body
      end,
    },
    client = {
      get_forwarded_ip = function() return ctx.forwarded_ip end,
      get_consumer = function() return ctx.consumer end,
      get_credential = function() return ctx.credential end,
    },
    router = {
      get_route = function() return ctx.route end,
      get_service = function() return ctx.service end,
    },
    service = {
      request = {
        set_header = function(name, value)
          env.upstream_headers[name] = value
        end,
        clear_header = function(name)
          env.cleared_headers[#env.cleared_headers + 1] = name
        end,
      },
    },
    response = {
      exit = function(status, body, headers)
        assert(env.exited == nil, "kong.response.exit called twice")
        env.exited = { status = status, body = body, headers = headers }
      end,
      set_header = function(name, value)
        env.response_headers[name] = value
      end,
      get_status = function() return ctx.upstream_status end,
    },
    log = {
      debug = log_level("debug"),
      info = log_level("info"),
      notice = log_level("notice"),
      warn = log_level("warn"),
      err = log_level("err"),
      serialize = function()
        if ctx.serialize_error then
          error(ctx.serialize_error)
        end
        return { latencies = ctx.latencies }
      end,
    },
    -- One table per request, shared by the phases of this plugin.
    ctx = { plugin = env.plugin_ctx },
  }
end


local function ngx_stub(env)
  return {
    null = cjson.null, -- OpenResty's ngx.null is the same lightuserdata as cjson.null
    now = function() return env.clock end,
    timer = {
      -- Timers run at once, in order, so a spec sees their effects; the
      -- `premature` argument is false as for a timer that expired normally.
      at = function(delay, fn, ...)
        env.timers[#env.timers + 1] = { delay = delay }
        if env.timer_error then
          return nil, env.timer_error
        end
        fn(false, ...)
        return true
      end,
    },
  }
end


local Env = {}
Env.__index = Env


-- opts.context: overrides of DEFAULT_CONTEXT (what the PDK returns)
-- opts.sidecar: scripted outcomes for successive sidecar calls
function M.new(opts)
  opts = opts or {}
  local context = copy(DEFAULT_CONTEXT)
  for k, v in pairs(opts.context or {}) do
    context[k] = v
  end
  return setmetatable({
    context = context,
    sidecar = opts.sidecar or {},
    timer_error = opts.timer_error,
    sidecar_calls = {},
    keepalives = {},
    lrucaches = {},
    digested = {},
    clock = 1700000000,
    connections = {},
    closes = 0,
    clients = 0,
    new_error = opts.new_error,
    upstream_headers = {},
    cleared_headers = {},
    response_headers = {},
    plugin_ctx = {},
    logs = {},
    timers = {},
    body_reads = 0,
    exited = nil,
  }, Env)
end


-- Installs the stand-ins and returns a freshly loaded handler, so no state
-- leaks from one spec to the next.
function Env:load_handler()
  _G.kong = kong_pdk(self)
  _G.ngx = ngx_stub(self)
  package.loaded["resty.http"] = http_module(self)
  package.loaded["resty.lrucache"] = lrucache_module(self)
  package.loaded["resty.sha256"] = sha256_module(self)
  package.loaded[HANDLER] = nil
  package.loaded[DECISION_CACHE] = nil
  return require(HANDLER)
end


-- Starts the next request on the same worker: the PDK now returns
-- DEFAULT_CONTEXT with `context` over it, and the per-request records
-- (upstream/response headers, cleared headers, kong.ctx.plugin, exit,
-- timers) start empty. Sidecar calls, connections, logs, caches and the
-- loaded handler carry over, as they do in one nginx worker.
function Env:new_request(context)
  for k in pairs(self.context) do
    self.context[k] = nil
  end
  for k, v in pairs(DEFAULT_CONTEXT) do
    self.context[k] = v
  end
  for k, v in pairs(context or {}) do
    self.context[k] = v
  end
  self.upstream_headers = {}
  self.cleared_headers = {}
  self.response_headers = {}
  self.plugin_ctx = {}
  _G.kong.ctx.plugin = self.plugin_ctx
  self.exited = nil
  self.timers = {}
end


-- Moves ngx.now() on by `ms` milliseconds.
function Env:advance(ms)
  self.clock = self.clock + ms / 1000
end


-- Runs the phases Kong would run for one request: access, then
-- header_filter (also after kong.response.exit) and log.
function Env:run(handler, conf)
  handler:access(conf)
  handler:header_filter(conf)
  handler:log(conf)
end


-- Connections to the sidecar that were neither pooled nor closed.
function Env:leaked()
  local count = 0
  for _, conn in ipairs(self.connections) do
    if conn.ended == nil then
      count = count + 1
    end
  end
  return count
end


-- Messages logged at `level`, for assertions.
function Env:logged(level)
  local out = {}
  for _, entry in ipairs(self.logs) do
    if entry.level == level then
      out[#out + 1] = entry.message
    end
  end
  return out
end


function M.uninstall()
  _G.kong = nil
  _G.ngx = nil
  package.loaded["resty.http"] = nil
  package.loaded["resty.lrucache"] = nil
  package.loaded["resty.sha256"] = nil
  package.loaded[HANDLER] = nil
  package.loaded[DECISION_CACHE] = nil
end


return M
