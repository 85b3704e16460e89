-- The plugin's per-worker cache of plain allows (cache_ttl_ms), request by
-- request on one worker. Kong (nginx + OpenResty) cannot run here: the PDK,
-- ngx.now, resty.http, resty.lrucache and resty.sha256 are the stand-ins of
-- spec/helpers/kong_stub.lua. Each spec loads the handler once and sends
-- several requests through it with one config table, as one nginx worker
-- does with one plugin instance.
local cjson = require "cjson"
local kong_stub = require "spec.helpers.kong_stub"
local schema_check = require "spec.helpers.schema_check"


-- A plain allow as the sidecar sends it (src/adapters/kong/to-plugin-response.ts).
local function allowed(action_id, overrides)
  action_id = action_id or "act-1"
  local answer = {
    allow = true, status = 200, decision = "allowed", action_id = action_id,
    risk_score = 12, approval_id = cjson.null, reason = "pol_orders_read",
    upstream_headers = {
      ["x-ascend-decision"] = "allowed",
      ["x-ascend-action-id"] = action_id,
      ["x-ascend-risk-score"] = "12",
      ["x-ascend-policy-id"] = "pol_orders_read",
    },
    client_headers = { ["x-ascend-decision"] = "allowed", ["x-ascend-action-id"] = action_id },
    body = cjson.null,
  }
  for k, v in pairs(overrides or {}) do
    answer[k] = v
  end
  return { answer = answer }
end

local function denied()
  return { answer = {
    allow = false, status = 403, decision = "denied", action_id = "act-d",
    risk_score = 80, approval_id = cjson.null, reason = "default deny",
    upstream_headers = {},
    client_headers = { ["content-type"] = "application/json", ["x-ascend-decision"] = "denied",
                       ["x-ascend-action-id"] = "act-d" },
    body = '{"decision":"denied","action_id":"act-d","reason":"default deny","policy_id":null}',
  } }
end

local function pending()
  return { answer = {
    allow = false, status = 403, decision = "pending", action_id = "act-p",
    risk_score = 55, approval_id = "apr-9", reason = "needs approval",
    upstream_headers = {},
    client_headers = { ["content-type"] = "application/json", ["x-ascend-decision"] = "pending",
                       ["x-ascend-action-id"] = "act-p", ["x-ascend-approval-id"] = "apr-9" },
    body = '{"decision":"pending","action_id":"act-p","approval_id":"apr-9"}',
  } }
end

local COMPLETED = { status = 204, body = "" }


-- The core contract's cached allow: GET /v1/orders/123 by crawler.
local function orders(overrides)
  local context = {
    method = "GET", scheme = "https", host = "api.example.com", port = 443,
    raw_path = "/v1/orders/123", raw_query = "expand=items",
    headers = {
      host = "api.example.com",
      accept = "application/json",
      authorization = "Bearer agent-key-1",
      ["x-agent-id"] = "crawler",
      ["x-request-id"] = "req-1",
      traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    },
    body = '{"q":1}',
    forwarded_ip = "10.0.0.7",
    consumer = { id = "c-1", username = "crawler", custom_id = "cr-1" },
    credential = { id = "cred-1" },
    route = { id = "r-1", name = "orders" },
    service = { id = "s-1", name = "shop" },
  }
  for k, v in pairs(overrides or {}) do
    context[k] = v
  end
  return context
end

-- orders() with some request headers changed (false removes one).
local function orders_with_headers(changes)
  local context = orders()
  local headers = {}
  for k, v in pairs(context.headers) do headers[k] = v end
  for k, v in pairs(changes) do
    headers[k] = v or nil
  end
  context.headers = headers
  return context
end


local env, handler

local function worker(sidecar)
  env = kong_stub.new({ sidecar = sidecar })
  handler = env:load_handler()
end

-- One request through all phases; returns what happened to it.
local function request(conf, context)
  env:new_request(context or orders())
  local calls_before = #env.sidecar_calls
  env:run(handler, conf)
  local authorize_calls = 0
  for i = calls_before + 1, #env.sidecar_calls do
    if env.sidecar_calls[i].uri:find("/kong/v1/authorize", 1, true) then
      authorize_calls = authorize_calls + 1
    end
  end
  return {
    asked = authorize_calls == 1,
    exited = env.exited,
    upstream = env.upstream_headers,
    client = env.response_headers,
    timers = #env.timers,
  }
end

local function cached_conf(overrides)
  local config = { cache_ttl_ms = 1000 }
  for k, v in pairs(overrides or {}) do config[k] = v end
  return schema_check.config(config)
end


after_each(function()
  kong_stub.uninstall()
end)


describe("decision cache", function()
  describe("off (cache_ttl_ms = 0, the default)", function()
    it("asks the sidecar for every request and creates no cache", function()
      worker({ allowed("act-1"), COMPLETED, allowed("act-2"), COMPLETED })
      local conf = schema_check.config()
      assert.equal(0, conf.cache_ttl_ms)

      assert.is_true(request(conf).asked)
      local second = request(conf)
      assert.is_true(second.asked)
      assert.equal("act-2", second.upstream["x-ascend-action-id"])
      assert.is_nil(second.upstream["x-ascend-cache"])
      assert.same({}, env.lrucaches)
      assert.same({}, env.digested)
    end)
  end)

  describe("a plain allow", function()
    it("is served from the cache to the same request: decision headers without the action id, marked", function()
      worker({ allowed("act-1"), COMPLETED })
      local conf = cached_conf()

      local first = request(conf)
      assert.is_true(first.asked)
      assert.equal("act-1", first.upstream["x-ascend-action-id"])
      assert.is_nil(first.upstream["x-ascend-cache"])
      assert.equal(1, first.timers) -- its completion

      local hit = request(conf)
      assert.is_false(hit.asked)
      assert.is_nil(hit.exited)
      assert.same({
        ["x-ascend-decision"] = "allowed",
        ["x-ascend-risk-score"] = "12",
        ["x-ascend-policy-id"] = "pol_orders_read",
        ["x-ascend-cache"] = "plugin",
      }, hit.upstream)
      assert.same({ ["x-ascend-decision"] = "allowed", ["x-ascend-cache"] = "plugin" }, hit.client)
      -- the sidecar never saw this request: no action id, no completion
      assert.is_nil(env.plugin_ctx.action_id)
      assert.equal(0, hit.timers)
      assert.equal(2, #env.sidecar_calls) -- authorize + completion of the first request
    end)

    it("keeps serving until the TTL is over, then asks again (a hit does not extend it)", function()
      worker({ allowed("act-1"), allowed("act-2") })
      local conf = cached_conf({ cache_ttl_ms = 1000, send_completion = false })

      assert.is_true(request(conf).asked)
      env:advance(600)
      assert.is_false(request(conf).asked)
      env:advance(400) -- exactly the TTL: still valid
      assert.is_false(request(conf).asked)
      env:advance(1)
      local after = request(conf)
      assert.is_true(after.asked)
      assert.equal("act-2", after.upstream["x-ascend-action-id"])
      -- the new answer is cached in turn
      assert.is_false(request(conf).asked)
    end)

    it("clears client-sent x-ascend-* headers on a hit, a forged x-ascend-cache included", function()
      local forged = orders_with_headers({ ["x-ascend-cache"] = "plugin", ["x-ascend-approval-id"] = "forged" })
      worker({ allowed("act-1") })
      local conf = cached_conf({ send_completion = false })
      request(conf, forged)

      request(conf, forged)
      table.sort(env.cleared_headers)
      assert.same({ "x-ascend-approval-id", "x-ascend-cache" }, env.cleared_headers)
      assert.is_nil(env.upstream_headers["x-ascend-approval-id"])
    end)

    it("is served while the sidecar is unreachable, until it expires", function()
      worker({ allowed("act-1"), { err = "connection refused" } })
      local conf = cached_conf({ send_completion = false })
      request(conf)

      assert.is_false(request(conf).asked)
      env:advance(1001)
      local expired = request(conf)
      assert.is_true(expired.asked)
      assert.equal(503, expired.exited.status)
    end)
  end)

  describe("key", function()
    -- Each variant differs from its baseline (orders(), or the third
    -- element) in one thing the plugin sends.
    local REPEATED_ACCEPT = orders_with_headers({ accept = { "application/json", "text/html" } })
    local variants = {
      { "method", orders({ method = "DELETE" }) },
      { "scheme", orders({ scheme = "http" }) },
      { "host", orders({ host = "admin.example.com" }) },
      { "port", orders({ port = 8443 }) },
      { "path", orders({ raw_path = "/v1/orders/124" }) },
      { "path encoding", orders({ raw_path = "/v1/orders/%31%32%33" }) },
      { "raw query", orders({ raw_query = "expand=payments" }) },
      { "query absent", orders({ raw_query = "" }) },
      { "client ip", orders({ forwarded_ip = "10.0.0.8" }) },
      { "consumer id", orders({ consumer = { id = "c-2", username = "crawler", custom_id = "cr-1" } }) },
      { "consumer username", orders({ consumer = { id = "c-1", username = "billing", custom_id = "cr-1" } }) },
      { "consumer custom_id", orders({ consumer = { id = "c-1", username = "crawler", custom_id = "cr-2" } }) },
      { "no consumer", orders({ consumer = false }) },
      { "credential id", orders({ credential = { id = "cred-2" } }) },
      { "route id", orders({ route = { id = "r-2", name = "orders" } }) },
      { "route name", orders({ route = { id = "r-1", name = "orders-admin" } }) },
      { "service id", orders({ service = { id = "s-2", name = "shop" } }) },
      { "service name", orders({ service = { id = "s-1", name = "shop-admin" } }) },
      { "authorization header", orders_with_headers({ authorization = "Bearer agent-key-2" }) },
      { "agent header", orders_with_headers({ ["x-agent-id"] = "billing-agent" }) },
      { "an added header", orders_with_headers({ ["x-tenant"] = "t-2" }) },
      { "a removed header", orders_with_headers({ accept = false }) },
      { "a client-sent x-ascend header", orders_with_headers({ ["x-ascend-approval-id"] = "apr-1" }) },
      { "a repeated header", orders_with_headers({ accept = { "application/json", "text/html" } }) },
      { "repeated values in another order",
        orders_with_headers({ accept = { "text/html", "application/json" } }), REPEATED_ACCEPT },
      { "a header value that looks like a list",
        orders_with_headers({ accept = "application/json,text/html" }), REPEATED_ACCEPT },
    }

    for _, case in ipairs(variants) do
      it("differs in " .. case[1] .. ": the sidecar decides again", function()
        local baseline = case[3] or orders()
        local variant = case[2]
        for k, v in pairs(variant) do
          if v == false then variant[k] = nil end
        end
        worker({ allowed("act-1"), allowed("act-2") })
        local conf = cached_conf({ send_completion = false })

        assert.is_true(request(conf, baseline).asked)
        local other = request(conf, variant)
        assert.is_true(other.asked)
        assert.equal("act-2", other.upstream["x-ascend-action-id"])
        -- both are cached now, each under its own key
        assert.is_false(request(conf, baseline).asked)
        assert.is_false(request(conf, variant).asked)
      end)
    end

    it("does not depend on the order headers come in", function()
      local a, b = orders(), orders()
      a.headers = { ["x-agent-id"] = "crawler", accept = "application/json", host = "api.example.com" }
      b.headers = {}
      b.headers.host = "api.example.com"
      b.headers.accept = "application/json"
      b.headers["x-agent-id"] = "crawler"
      worker({ allowed("act-1") })
      local conf = cached_conf({ send_completion = false })
      request(conf, a)
      assert.is_false(request(conf, b).asked)
    end)

    it("cannot be confused by a value that spells another field's encoding", function()
      -- without length prefixes these two would encode alike
      local a = orders_with_headers({ ["x-a"] = "1", ["x-b"] = "2" })
      local b = orders_with_headers({ ["x-a"] = "1s3:x-b2" })
      worker({ allowed("act-1"), allowed("act-2") })
      local conf = cached_conf({ send_completion = false })
      request(conf, a)
      assert.is_true(request(conf, b).asked)
    end)

    describe("volatile headers", function()
      it("leaves the default ones (request ids, trace context) out", function()
        worker({ allowed("act-1") })
        local conf = cached_conf({ send_completion = false })
        request(conf)

        local other_trace = orders_with_headers({
          ["x-request-id"] = "req-2",
          traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
          tracestate = "vendor=1",
          b3 = "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1",
          ["x-b3-traceid"] = "80f198ee56343ba8", ["x-b3-spanid"] = "e457b5a2e4d86bd1",
          ["x-b3-parentspanid"] = "05e3ac9a4f6e3b90", ["x-b3-sampled"] = "1", ["x-b3-flags"] = "0",
        })
        assert.is_false(request(conf, other_trace).asked)
        assert.is_false(request(conf, orders_with_headers({ ["x-request-id"] = false, traceparent = false })).asked)
        -- and the digest never saw them
        for _, input in ipairs(env.digested) do
          assert.is_nil(input:find("req-", 1, true))
          assert.is_nil(input:find("4bf92f3577b34da6", 1, true))
        end
      end)

      it("sends them to the sidecar all the same on a miss", function()
        worker({ allowed("act-1") })
        request(cached_conf({ send_completion = false }))
        assert.equal("req-1", env.sidecar_calls[1].json.request.headers["x-request-id"])
      end)

      it("follows cache_ignore_headers, matched without regard to case", function()
        worker({ allowed("act-1"), allowed("act-2"), allowed("act-3") })
        local conf = cached_conf({ send_completion = false, cache_ignore_headers = { "X-Trace-Id" } })
        request(conf, orders_with_headers({ ["x-trace-id"] = "t-1" }))

        assert.is_false(request(conf, orders_with_headers({ ["x-trace-id"] = "t-2" })).asked)
        -- x-request-id is no longer in the list: it is part of the key now
        assert.is_true(request(conf, orders_with_headers({ ["x-trace-id"] = "t-1", ["x-request-id"] = "req-2" })).asked)
      end)

      it("keeps every header in the key when the list is empty", function()
        worker({ allowed("act-1"), allowed("act-2") })
        local conf = cached_conf({ send_completion = false, cache_ignore_headers = {} })
        request(conf)
        assert.is_true(request(conf, orders_with_headers({ ["x-request-id"] = "req-2" })).asked)
      end)
    end)

    describe("body", function()
      it("is part of the key when send_body is on", function()
        worker({ allowed("act-1"), allowed("act-2") })
        local conf = cached_conf({ send_completion = false, send_body = true })
        request(conf)

        assert.is_false(request(conf, orders({ body = '{"q":1}' })).asked)
        assert.is_true(request(conf, orders({ body = '{"q":2}' })).asked)
      end)

      it("keys body_truncated too: a cut body is not the whole one", function()
        worker({ allowed("act-1"), allowed("act-2") })
        local conf = cached_conf({ send_completion = false, send_body = true, max_body_bytes = 7 })
        request(conf, orders({ body = '{"q":1}' }))
        -- the same first 7 bytes, but longer: sent cut and marked truncated
        assert.is_true(request(conf, orders({ body = '{"q":1}   ' })).asked)
        assert.is_true(env.sidecar_calls[2].json.request.body_truncated)
      end)

      it("is not part of the key when send_body is off: the sidecar never sees it", function()
        worker({ allowed("act-1") })
        local conf = cached_conf({ send_completion = false })
        request(conf)
        assert.is_false(request(conf, orders({ body = '{"q":2}' })).asked)
        assert.equal(0, env.body_reads)
      end)
    end)

    it("is a digest (SHA-256 in Kong) of the whole request, credentials included", function()
      worker({ allowed("act-1") })
      request(cached_conf({ send_completion = false }))
      assert.equal(1, #env.digested)
      local input = env.digested[1]
      for _, part in ipairs({ "Bearer agent-key-1", "/v1/orders/123", "expand=items", "10.0.0.7",
                              "cred-1", "c-1", "r-1", "s-1", "api.example.com", "crawler" }) do
        assert.is_truthy(input:find(part, 1, true), part)
      end
    end)
  end)

  describe("is never stored for", function()
    local function with_header(map_name, name, value)
      local answer = allowed("act-1")
      answer.answer[map_name][name] = value
      return answer
    end

    local not_plain = {
      { "a denial", denied() },
      { "a pending answer", pending() },
      { "a sidecar fail-open allow", with_header("upstream_headers", "x-ascend-fail-open", "true") },
      { "a monitor-mode allow", with_header("upstream_headers", "x-ascend-monitor", "denied") },
      { "a flagged allow", with_header("upstream_headers", "x-ascend-flagged", "true") },
      { "an allow an approval granted", (function()
          local answer = with_header("upstream_headers", "x-ascend-approval-id", "apr-7")
          answer.answer.approval_id = "apr-7"
          answer.answer.upstream_headers["x-ascend-status-url"] = "/api/v1/approvals/apr-7"
          return answer
        end)() },
      { "an allow with an approval_id only", allowed("act-1", { approval_id = "apr-7" }) },
      { "an allow with retry-after", with_header("upstream_headers", "retry-after", "5") },
      { "an allow with a marker this plugin does not know", with_header("upstream_headers", "x-ascend-quota", "1") },
      { "an allow with an unknown client header", with_header("client_headers", "x-ascend-monitor", "denied") },
      { "an allow whose decision is not allowed", allowed("act-1", { decision = "monitored" }) },
      { "an allow whose header says otherwise", with_header("upstream_headers", "x-ascend-decision", "denied") },
      { "an allow without x-ascend-decision", with_header("upstream_headers", "x-ascend-decision", nil) },
      { "an allow with another status", allowed("act-1", { status = 202 }) },
      { "an allow without upstream headers", allowed("act-1", { upstream_headers = cjson.null }) },
      { "an allow with malformed headers", with_header("upstream_headers", "x-ascend-risk-score", { 1 }) },
    }

    for _, case in ipairs(not_plain) do
      it(case[1], function()
        local first_answer = case[2]
        worker({ first_answer, allowed("act-2") })
        local conf = cached_conf({ send_completion = false, fail_mode = "open" })
        request(conf)
        assert.equal(0, env.lrucaches[1]:count())

        local second = request(conf)
        assert.is_true(second.asked)
        assert.equal("act-2", second.upstream["x-ascend-action-id"])
        -- the plain allow that follows is stored, so the first was judged, not the cache
        assert.equal(1, env.lrucaches[1]:count())
      end)
    end

    for _, mode in ipairs({ "open", "closed" }) do
      it("no answer (fail_mode " .. mode .. ")", function()
        worker({ { err = "timeout", at = "read" }, { status = 500, body = "" }, allowed("act-2") })
        local conf = cached_conf({ send_completion = false, fail_mode = mode })
        request(conf)
        request(conf)

        local third = request(conf)
        assert.is_true(third.asked)
        assert.equal("act-2", third.upstream["x-ascend-action-id"])
      end)
    end

    it("a denial that follows an expired allow of the same request", function()
      worker({ allowed("act-1"), denied(), denied() })
      local conf = cached_conf({ send_completion = false })
      request(conf)
      env:advance(1001)
      assert.equal(403, request(conf).exited.status)
      local again = request(conf)
      assert.is_true(again.asked)
      assert.equal(403, again.exited.status)
    end)
  end)

  describe("bounds", function()
    it("holds at most cache_max_entries, dropping the least recently used", function()
      local a = orders({ raw_path = "/v1/orders/1" })
      local b = orders({ raw_path = "/v1/orders/2" })
      local c = orders({ raw_path = "/v1/orders/3" })
      worker({ allowed("a"), allowed("b"), allowed("c"), allowed("b2") })
      local conf = cached_conf({ send_completion = false, cache_max_entries = 2 })

      request(conf, a)
      request(conf, b)
      assert.is_false(request(conf, a).asked) -- a is now the most recently used
      request(conf, c)                         -- evicts b
      assert.equal(2, env.lrucaches[1]:count())
      assert.is_false(request(conf, a).asked)
      assert.is_false(request(conf, c).asked)
      assert.is_true(request(conf, b).asked)
    end)

    it("keeps one cache per plugin instance: a new config table starts empty", function()
      worker({ allowed("act-1"), allowed("act-2") })
      local one = cached_conf({ send_completion = false })
      local other = cached_conf({ send_completion = false })
      request(one)
      assert.is_true(request(other).asked)
      assert.equal(2, #env.lrucaches)
    end)

    it("stays off, logging why, when the cache cannot be created", function()
      worker({ allowed("act-1"), allowed("act-2") })
      local conf = cached_conf({ send_completion = false })
      conf.cache_max_entries = 0 -- only reachable past the schema
      request(conf)
      assert.is_true(request(conf).asked)
      assert.equal(1, #env:logged("err"))
      assert.matches("decision cache off", env:logged("err")[1], 1, true)
    end)
  end)
end)
