-- A stand-in for exactly the parts of the Kong PDK, ngx and resty.http that
-- the ascend plugin calls, recording every call so specs can assert on them.
--
-- Kong is not needed to run the specs: the stand-in is injected through the
-- `kong` / `ngx` globals (which Kong itself provides to plugins) and through
-- package.loaded["resty.http"], then the handler is required fresh.
--
--   local env = kong_stub.new({ context = {...}, sidecar = { {status=200, body=...} } })
--   local handler = env:load_handler()
--   handler:access(conf)
--   env.exited, env.upstream_headers, env.sidecar_calls, ...
local cjson = require "cjson"

local M = {}

local HANDLER = "kong.plugins.ascend.handler"

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
--   { err = "timeout" }              request_uri returns nil, err
-- Like the real request_uri, a successful exchange ends with
-- set_keepalive(params.keepalive_timeout, params.keepalive_pool).
local function http_module(env)
  local client_mt = {}
  client_mt.__index = client_mt

  function client_mt:set_timeouts(connect, send, read)
    self.timeouts = { connect, send, read }
  end

  function client_mt:set_keepalive(timeout, pool)
    env.keepalives[#env.keepalives + 1] = { timeout = timeout, pool = pool }
    return true
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
    if outcome.err then
      return nil, outcome.err
    end
    local body = outcome.body
    if outcome.answer then
      body = cjson.encode(outcome.answer)
    end
    self:set_keepalive(params.keepalive_timeout, params.keepalive_pool)
    return { status = outcome.status or 200, headers = {}, body = body }
  end

  return {
    new = function()
      return setmetatable({}, client_mt)
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
  package.loaded[HANDLER] = nil
  return require(HANDLER)
end


-- Runs the phases Kong would run for one request: access, then
-- header_filter (also after kong.response.exit) and log.
function Env:run(handler, conf)
  handler:access(conf)
  handler:header_filter(conf)
  handler:log(conf)
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
  package.loaded[HANDLER] = nil
end


return M
