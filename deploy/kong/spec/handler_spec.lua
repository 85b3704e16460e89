-- Behaviour of the ascend plugin's phases against a scripted sidecar. Kong
-- (nginx + OpenResty) cannot run here: the PDK, ngx.timer and resty.http are
-- the stand-ins of spec/helpers/kong_stub.lua, which follow Kong 3.x and
-- lua-resty-http 0.17.
local cjson = require "cjson"
local kong_stub = require "spec.helpers.kong_stub"
local schema_check = require "spec.helpers.schema_check"


-- Answers shaped like the sidecar's (see README "The sidecar's answer").
local function allowed(overrides)
  local answer = {
    allow = true, status = 200, decision = "allowed", action_id = "act-1",
    risk_score = 12, approval_id = cjson.null, reason = "pol_refund_small",
    upstream_headers = {
      ["x-ascend-decision"] = "allowed",
      ["x-ascend-action-id"] = "act-1",
      ["x-ascend-risk-score"] = "12",
    },
    client_headers = { ["x-ascend-decision"] = "allowed", ["x-ascend-action-id"] = "act-1" },
    body = cjson.null,
  }
  for k, v in pairs(overrides or {}) do
    answer[k] = v
  end
  return { answer = answer }
end

local DENIED_BODY = '{"decision":"denied","action_id":"act-2","reason":"default deny","policy_id":null}'

local function denied()
  return { answer = {
    allow = false, status = 403, decision = "denied", action_id = "act-2",
    risk_score = 80, approval_id = cjson.null, reason = "default deny",
    upstream_headers = {},
    client_headers = {
      ["content-type"] = "application/json",
      ["x-ascend-decision"] = "denied",
      ["x-ascend-action-id"] = "act-2",
    },
    body = DENIED_BODY,
  } }
end

local PENDING_BODY = '{"decision":"pending","action_id":"act-3","reason":"Large refunds need approval",'
                  .. '"policy_id":"pol_refund_large","approval_id":"apr-9"}'

local function pending()
  return { answer = {
    allow = false, status = 403, decision = "pending", action_id = "act-3",
    risk_score = 55, approval_id = "apr-9", reason = "Large refunds need approval",
    upstream_headers = {},
    client_headers = {
      ["content-type"] = "application/json",
      ["x-ascend-decision"] = "pending",
      ["x-ascend-action-id"] = "act-3",
      ["x-ascend-approval-id"] = "apr-9",
    },
    body = PENDING_BODY,
  } }
end


local REFUND = {
  method = "POST", scheme = "https", host = "api.example.com", port = 443,
  raw_path = "/v1/refunds/r-1", raw_query = "amount=1500",
  headers = { ["x-agent-id"] = "billing-agent", host = "api.example.com" },
}


local function setup(opts)
  local env = kong_stub.new(opts)
  return env, env:load_handler()
end


after_each(function()
  kong_stub.uninstall()
end)


describe("ascend handler", function()
  it("runs after auth plugins and acl, before rate limiting", function()
    local _, handler = setup()
    assert.equal(940, handler.PRIORITY)
    assert.equal("0.1.0", handler.VERSION)
  end)

  describe("call to the sidecar", function()
    it("POSTs JSON to {sidecar_url}/kong/v1/authorize with the configured timeouts and TLS check", function()
      local env, handler = setup({ context = REFUND, sidecar = { allowed() } })
      handler:access(schema_check.config({ timeout_ms = 150, ssl_verify = false,
                                           sidecar_url = "https://sidecar.internal:9443" }))

      local call = env.sidecar_calls[1]
      assert.equal("https://sidecar.internal:9443/kong/v1/authorize", call.uri)
      assert.equal("POST", call.params.method)
      assert.equal("application/json", call.params.headers["content-type"])
      assert.equal("kong-plugin-ascend/0.1.0", call.params.headers["user-agent"])
      assert.same({ 150, 150, 150 }, call.timeouts)
      assert.is_false(call.params.ssl_verify)
    end)

    it("sets connect, send and read timeouts from their own fields", function()
      local env, handler = setup({ context = REFUND, sidecar = { allowed() } })
      handler:access(schema_check.config({ timeout_ms = 150, connect_timeout_ms = 20,
                                           send_timeout_ms = 30, read_timeout_ms = 400 }))
      assert.same({ 20, 30, 400 }, env.sidecar_calls[1].timeouts)
    end)

    it("uses timeout_ms for each step whose own timeout is unset", function()
      local cases = {
        { { connect_timeout_ms = 20 }, { 20, 150, 150 } },
        { { send_timeout_ms = 30 }, { 150, 30, 150 } },
        { { read_timeout_ms = 400 }, { 150, 150, 400 } },
        { { connect_timeout_ms = 20, read_timeout_ms = 400 }, { 20, 150, 400 } },
      }
      for _, case in ipairs(cases) do
        local overrides = { timeout_ms = 150 }
        for k, v in pairs(case[1]) do overrides[k] = v end
        local env, handler = setup({ context = REFUND, sidecar = { allowed() } })
        handler:access(schema_check.config(overrides))
        assert.same(case[2], env.sidecar_calls[1].timeouts)
      end
    end)

    it("treats a null optional field (a config read with its nulls) as unset", function()
      local conf = schema_check.config({ timeout_ms = 150, read_timeout_ms = 400 })
      conf.connect_timeout_ms, conf.send_timeout_ms, conf.gateway_token = cjson.null, cjson.null, cjson.null
      local env, handler = setup({ context = REFUND, sidecar = { allowed() } })
      handler:access(conf)

      assert.same({ 150, 150, 400 }, env.sidecar_calls[1].timeouts)
      assert.is_nil(env.sidecar_calls[1].params.headers["x-ascend-gateway-token"])
    end)

    it("uses the same timeouts for the completion", function()
      local env, handler = setup({ context = REFUND, sidecar = { allowed(), { status = 204, body = "" } } })
      env:run(handler, schema_check.config({ connect_timeout_ms = 20, read_timeout_ms = 400 }))
      assert.same({ 20, 200, 400 }, env.sidecar_calls[2].timeouts)
    end)

    it("sends no x-ascend-gateway-token when gateway_token is unset", function()
      local env, handler = setup({ context = REFUND, sidecar = { allowed() } })
      handler:access(schema_check.config())
      assert.is_nil(env.sidecar_calls[1].params.headers["x-ascend-gateway-token"])
    end)

    it("sends gateway_token as x-ascend-gateway-token on the authorize and the completion call", function()
      local env, handler = setup({ context = REFUND, sidecar = { allowed(), { status = 204, body = "" } } })
      env:run(handler, schema_check.config({ gateway_token = "gw-token-3f9a1c77e2" }))

      assert.equal(2, #env.sidecar_calls)
      assert.equal("http://127.0.0.1:8181/kong/v1/authorize", env.sidecar_calls[1].uri)
      assert.equal("http://127.0.0.1:8181/kong/v1/complete", env.sidecar_calls[2].uri)
      for _, call in ipairs(env.sidecar_calls) do
        assert.equal("gw-token-3f9a1c77e2", call.params.headers["x-ascend-gateway-token"])
      end
      -- the token is a header, never part of what the sidecar evaluates
      assert.is_nil(env.sidecar_calls[1].params.body:find("gw-token", 1, true))
    end)

    it("treats the sidecar's 401 to a missing or wrong token as no answer (fail_mode)", function()
      local refused = { status = 401, body = '{"code":"gateway_token_required","reason":"missing or wrong x-ascend-gateway-token"}' }
      local env, handler = setup({ context = REFUND, sidecar = { refused } })
      env:run(handler, schema_check.config({ gateway_token = "stale-token" }))

      assert.equal(503, env.exited.status)
      assert.matches("HTTP 401", env:logged("err")[1], 1, true)
    end)

    it("keeps a path prefix of sidecar_url and drops its trailing slashes", function()
      local env, handler = setup({ context = REFUND, sidecar = { allowed() } })
      handler:access(schema_check.config({ sidecar_url = "http://gw-sidecar:8181/ascend/" }))
      assert.equal("http://gw-sidecar:8181/ascend/kong/v1/authorize", env.sidecar_calls[1].uri)
    end)

    it("hands the connection back to the pool with the configured keepalive", function()
      local env, handler = setup({ context = REFUND, sidecar = { allowed() } })
      handler:access(schema_check.config({ keepalive_timeout_ms = 30000, keepalive_pool_size = 16 }))

      assert.equal(30000, env.sidecar_calls[1].params.keepalive_timeout)
      assert.equal(16, env.sidecar_calls[1].params.keepalive_pool)
      assert.same({ { timeout = 30000, pool = 16 } }, env.keepalives)
    end)

    it("uses the defaults: local sidecar, 200 ms, 10 s keepalive, pool of 64, TLS verified", function()
      local env, handler = setup({ context = REFUND, sidecar = { allowed() } })
      handler:access(schema_check.config())

      local call = env.sidecar_calls[1]
      assert.equal("http://127.0.0.1:8181/kong/v1/authorize", call.uri)
      assert.same({ 200, 200, 200 }, call.timeouts)
      assert.is_true(call.params.ssl_verify)
      assert.same({ { timeout = 10000, pool = 64 } }, env.keepalives)
    end)
  end)

  describe("connection pool", function()
    -- Every answer read in full goes back to the pool, whatever it says; the
    -- stand-in follows request_uri's own connection handling (kong_stub.lua).
    local answered = {
      { "an allow", allowed() },
      { "a denial", denied() },
      { "a pending answer", pending() },
      { "HTTP 401 (gateway token)", { status = 401, body = '{"code":"gateway_token_required"}' } },
      { "HTTP 500", { status = 500, body = "{}" } },
      { "HTTP 404", { status = 404, body = "not found" } },
      { "a body that is not JSON", { status = 200, body = "<html>" } },
      { "an allow with malformed headers", { answer = { allow = true, upstream_headers = { ["x-a"] = {} } } } },
    }

    for _, case in ipairs(answered) do
      for _, mode in ipairs({ "closed", "open" }) do
        it("returns the connection to the pool after " .. case[1] .. " (fail_mode " .. mode .. ")", function()
          local env, handler = setup({ context = REFUND, sidecar = { case[2] } })
          handler:access(schema_check.config({ fail_mode = mode, keepalive_timeout_ms = 5000,
                                               keepalive_pool_size = 16 }))

          assert.equal(1, #env.connections)
          assert.same({ { timeout = 5000, pool = 16 } }, env.keepalives)
          assert.equal(0, env.closes)
          assert.equal(0, env:leaked())
        end)
      end
    end

    it("returns the completion's connection to the pool too, also when the sidecar rejects it", function()
      for _, completion in ipairs({ { status = 204, body = "" }, { status = 500, body = "" } }) do
        local env, handler = setup({ context = REFUND, sidecar = { allowed(), completion } })
        env:run(handler, schema_check.config())
        assert.equal(2, #env.connections)
        assert.equal(2, #env.keepalives)
        assert.equal(0, env.closes)
      end
    end)

    it("creates the pool with keepalive_pool_size when connect is the first to need it", function()
      local env, handler = setup({ context = REFUND, sidecar = { allowed() } })
      handler:access(schema_check.config({ keepalive_pool_size = 16 }))
      assert.equal(16, env.sidecar_calls[1].params.pool_size)
      assert.equal(16, env.connections[1].pool_size)
    end)

    it("closes instead of pooling when the sidecar answers Connection: close", function()
      local answer = allowed()
      answer.connection = "close"
      local env, handler = setup({ context = REFUND, sidecar = { answer } })
      handler:access(schema_check.config())

      assert.is_nil(env.exited)
      assert.same({}, env.keepalives)
      assert.equal(1, env.closes)
      assert.equal(0, env:leaked())
    end)

    it("closes a connection that failed after connecting, and opens none when connect fails", function()
      for _, case in ipairs({ { at = "send", closes = 1, opened = 1 }, { at = "read", closes = 1, opened = 1 },
                              { at = "connect", closes = 0, opened = 0 } }) do
        local env, handler = setup({ context = REFUND, sidecar = { { err = "timeout", at = case.at } } })
        handler:access(schema_check.config())

        assert.equal(503, env.exited.status)
        assert.equal(case.opened, #env.connections, case.at)
        assert.equal(case.closes, env.closes, case.at)
        assert.same({}, env.keepalives)
        assert.equal(0, env:leaked())
      end
    end)

    it("applies fail_mode when no HTTP client can be created", function()
      local env, handler = setup({ context = REFUND, new_error = "no memory" })
      handler:access(schema_check.config())

      assert.equal(503, env.exited.status)
      assert.matches("cannot create HTTP client: no memory", env:logged("err")[1], 1, true)
      assert.equal(0, #env.connections)
    end)
  end)

  describe("allow", function()
    it("sets the upstream headers, remembers action_id and adds client headers to the response", function()
      local env, handler = setup({ context = REFUND, sidecar = { allowed() } })
      env:run(handler, schema_check.config({ send_completion = false }))

      assert.is_nil(env.exited)
      assert.same({
        ["x-ascend-decision"] = "allowed",
        ["x-ascend-action-id"] = "act-1",
        ["x-ascend-risk-score"] = "12",
      }, env.upstream_headers)
      assert.equal("act-1", env.plugin_ctx.action_id)
      assert.same({ ["x-ascend-decision"] = "allowed", ["x-ascend-action-id"] = "act-1" },
                  env.response_headers)
    end)

    it("clears client-sent x-ascend-* headers before the upstream sees the request", function()
      local context = {}
      for k, v in pairs(REFUND) do context[k] = v end
      context.headers = {
        ["x-agent-id"] = "billing-agent",
        ["x-ascend-decision"] = "allowed",
        ["x-ascend-approval-id"] = "forged",
        ["x-ascendant"] = "not ours",
      }
      local env, handler = setup({ context = context, sidecar = { allowed() } })
      handler:access(schema_check.config())

      table.sort(env.cleared_headers)
      assert.same({ "x-ascend-approval-id", "x-ascend-decision" }, env.cleared_headers)
      -- the sidecar's own value is set after the clearing
      assert.equal("allowed", env.upstream_headers["x-ascend-decision"])
    end)

    it("accepts absent or null header maps", function()
      local answer = allowed({ upstream_headers = cjson.null })
      answer.answer.client_headers = nil
      local env, handler = setup({ context = REFUND, sidecar = { answer } })
      env:run(handler, schema_check.config({ send_completion = false }))

      assert.is_nil(env.exited)
      assert.same({}, env.upstream_headers)
      assert.same({}, env.response_headers)
    end)

    it("records no action_id when the sidecar gives none", function()
      local env, handler = setup({ context = REFUND, sidecar = { allowed({ action_id = cjson.null }) } })
      handler:access(schema_check.config())
      assert.is_nil(env.plugin_ctx.action_id)
    end)
  end)

  describe("deny", function()
    it("exits with the sidecar's status, body and client headers", function()
      local env, handler = setup({ context = REFUND, sidecar = { denied() } })
      env:run(handler, schema_check.config())

      assert.same({
        status = 403,
        body = DENIED_BODY,
        headers = {
          ["content-type"] = "application/json",
          ["x-ascend-decision"] = "denied",
          ["x-ascend-action-id"] = "act-2",
        },
      }, env.exited)
      assert.same({}, env.upstream_headers)
      -- header_filter adds nothing: exit() already carried the headers
      assert.same({}, env.response_headers)
      -- nothing reached the upstream, so there is nothing to complete
      assert.equal(1, #env.sidecar_calls)
      assert.equal(0, #env.timers)
    end)

    it("exits for a pending action with the pending status and approval headers", function()
      local env, handler = setup({ context = REFUND, sidecar = { pending() } })
      env:run(handler, schema_check.config())

      assert.equal(403, env.exited.status)
      assert.equal(PENDING_BODY, env.exited.body)
      assert.equal("pending", env.exited.headers["x-ascend-decision"])
      assert.equal("apr-9", env.exited.headers["x-ascend-approval-id"])
      assert.equal(0, #env.timers)
    end)

    it("applies another status the sidecar chooses, such as 202 for pending", function()
      local answer = pending()
      answer.answer.status = 202
      local env, handler = setup({ context = REFUND, sidecar = { answer } })
      handler:access(schema_check.config())
      assert.equal(202, env.exited.status)
    end)

    it("still denies, with safe fallbacks, when parts of a denial are malformed", function()
      local env, handler = setup({ context = REFUND, sidecar = { { answer = {
        allow = false, status = "403", body = cjson.null, client_headers = { ["x-a"] = { "no" } },
      } } } })
      handler:access(schema_check.config({ fail_mode = "open" }))

      assert.same({ status = 403 }, env.exited)
      assert.is_nil(env.upstream_headers["x-ascend-fail-open"])
      assert.equal(2, #env:logged("warn"))
    end)
  end)

  describe("no usable answer", function()
    local outcomes = {
      { "connection refused", { err = "connection refused" } },
      { "timeout", { err = "timeout" } },
      { "HTTP 500", { status = 500, body = '{"allow":true}' } },
      { "HTTP 404", { status = 404, body = "not found" } },
      { "unparsable JSON", { status = 200, body = "{allow: true" } },
      { "a JSON array", { status = 200, body = "[true]" } },
      { "an empty body", { status = 200, body = "" } },
      { "no allow field", { answer = { decision = "allowed", status = 200 } } },
      { "allow not a boolean", { answer = { allow = "true", status = 200 } } },
      { "allow with malformed upstream headers",
        { answer = { allow = true, upstream_headers = { ["x-ascend-decision"] = { "allowed" } } } } },
      { "allow with client headers not an object",
        { answer = { allow = true, client_headers = "x-ascend-decision: allowed" } } },
    }

    for _, case in ipairs(outcomes) do
      local name, outcome = case[1], case[2]

      it("fail_mode closed answers 503 authorization_unavailable on " .. name, function()
        local env, handler = setup({ context = REFUND, sidecar = { outcome } })
        env:run(handler, schema_check.config({ fail_mode = "closed" }))

        assert.same({
          status = 503,
          body = '{"decision":"denied","reason":"authorization_unavailable",'
              .. '"message":"authorization service unavailable"}',
          headers = { ["content-type"] = "application/json", ["x-ascend-decision"] = "denied" },
        }, env.exited)
        assert.same({}, env.upstream_headers)
        assert.equal(1, #env:logged("err"))
        assert.equal(0, #env.timers)
      end)

      it("fail_mode open lets the request through, marked x-ascend-fail-open, on " .. name, function()
        local env, handler = setup({ context = REFUND, sidecar = { outcome } })
        env:run(handler, schema_check.config({ fail_mode = "open" }))

        assert.is_nil(env.exited)
        assert.same({ ["x-ascend-fail-open"] = "true" }, env.upstream_headers)
        assert.same({}, env.response_headers)
        assert.equal(1, #env:logged("warn"))
        assert.equal(0, #env.timers)
      end)
    end

    it("names the cause in the log line", function()
      local env, handler = setup({ context = REFUND, sidecar = { { status = 502, body = "" } } })
      handler:access(schema_check.config())
      assert.matches("HTTP 502", env:logged("err")[1], 1, true)
    end)

    it("fail_mode open also clears client-sent x-ascend-* headers", function()
      local context = { headers = { ["x-ascend-decision"] = "allowed" } }
      local env, handler = setup({ context = context, sidecar = { { err = "timeout" } } })
      handler:access(schema_check.config({ fail_mode = "open" }))
      assert.same({ "x-ascend-decision" }, env.cleared_headers)
    end)
  end)

  describe("request body", function()
    local function sent_request(env)
      return env.sidecar_calls[1].json.request
    end

    it("is neither read nor sent when send_body is off", function()
      local env, handler = setup({ context = { body = "secret" }, sidecar = { allowed() } })
      handler:access(schema_check.config())

      assert.equal(0, env.body_reads)
      assert.is_nil(sent_request(env).body)
      assert.is_nil(sent_request(env).body_truncated)
    end)

    it("is sent whole up to max_body_bytes", function()
      local body = '{"amount":1500}'
      local env, handler = setup({ context = { body = body }, sidecar = { allowed() } })
      handler:access(schema_check.config({ send_body = true, max_body_bytes = #body }))

      assert.equal(body, sent_request(env).body)
      assert.is_false(sent_request(env).body_truncated)
    end)

    it("is truncated at max_body_bytes and marked body_truncated", function()
      local env, handler = setup({ context = { body = string.rep("a", 100) }, sidecar = { allowed() } })
      handler:access(schema_check.config({ send_body = true, max_body_bytes = 10 }))

      assert.equal(string.rep("a", 10), sent_request(env).body)
      assert.is_true(sent_request(env).body_truncated)
    end)

    it("is cut before a UTF-8 sequence the limit would split", function()
      -- "aé" is 61 C3 A9: a limit of 2 would keep half of the é
      local env, handler = setup({ context = { body = "a\195\169b" }, sidecar = { allowed() } })
      handler:access(schema_check.config({ send_body = true, max_body_bytes = 2 }))

      assert.equal("a", sent_request(env).body)
      assert.is_true(sent_request(env).body_truncated)
    end)

    it("keeps a UTF-8 sequence that ends exactly at the limit", function()
      local env, handler = setup({ context = { body = "a\195\169b" }, sidecar = { allowed() } })
      handler:access(schema_check.config({ send_body = true, max_body_bytes = 3 }))
      assert.equal("a\195\169", sent_request(env).body)
    end)

    it("never sends more than max_body_bytes of a binary body", function()
      -- continuation bytes only: the cut steps back to nothing, not past the start
      local env, handler = setup({ context = { body = "\128\128\128\128" }, sidecar = { allowed() } })
      handler:access(schema_check.config({ send_body = true, max_body_bytes = 1 }))
      assert.equal("", sent_request(env).body)
    end)

    it("is not sent, and marked truncated, when nginx buffered it to a file", function()
      local env, handler = setup({
        context = { body_error = "request body did not fit into client body buffer" },
        sidecar = { allowed() },
      })
      handler:access(schema_check.config({ send_body = true }))

      assert.is_nil(sent_request(env).body)
      assert.is_true(sent_request(env).body_truncated)
    end)
  end)

  describe("consumer identity", function()
    local consumer_context = {
      consumer = { id = "c-1", username = "crawler", custom_id = "billing-agent",
                   created_at = 1700000000, tags = { "agents" } },
      credential = { id = "cred-1", key = "s3cr3t", consumer = { id = "c-1" } },
    }

    for _, from in ipairs({ "username", "custom_id", "none" }) do
      it("passes agent_id_from_consumer = " .. from .. " on as agent_id_from", function()
        local env, handler = setup({ context = consumer_context, sidecar = { allowed() } })
        handler:access(schema_check.config({ agent_id_from_consumer = from }))
        assert.equal(from, env.sidecar_calls[1].json.agent_id_from)
      end)
    end

    it("sends only ids and names of the consumer and credential, never a credential secret", function()
      local env, handler = setup({ context = consumer_context, sidecar = { allowed() } })
      handler:access(schema_check.config())

      local sent = env.sidecar_calls[1].json
      assert.same({ id = "c-1", username = "crawler", custom_id = "billing-agent" }, sent.consumer)
      assert.same({ id = "cred-1" }, sent.credential)
      assert.is_nil(env.sidecar_calls[1].params.body:find("s3cr3t", 1, true))
    end)

    it("omits consumer, credential, route and service when Kong has none", function()
      local env, handler = setup({ sidecar = { allowed() } })
      handler:access(schema_check.config())

      local sent = env.sidecar_calls[1].json
      assert.is_nil(sent.consumer)
      assert.is_nil(sent.credential)
      assert.is_nil(sent.route)
      assert.is_nil(sent.service)
    end)
  end)

  describe("completion in the log phase", function()
    it("posts action_id, upstream status and latencies to /kong/v1/complete from a timer", function()
      local context = { upstream_status = 201,
                        latencies = { request = 42.5, proxy = 30, kong = 4, receive = 1 } }
      for k, v in pairs(REFUND) do context[k] = v end
      local env, handler = setup({ context = context,
                                   sidecar = { allowed(), { status = 204, body = "" } } })
      env:run(handler, schema_check.config({ keepalive_pool_size = 8 }))

      assert.same({ { delay = 0 } }, env.timers)
      local call = env.sidecar_calls[2]
      assert.equal("http://127.0.0.1:8181/kong/v1/complete", call.uri)
      assert.equal("POST", call.params.method)
      assert.same({
        action_id = "act-1",
        upstream_status = 201,
        latencies = { request = 42.5, proxy = 30, kong = 4 },
      }, call.json)
      assert.equal(8, env.keepalives[2].pool)
      assert.same({}, env:logged("warn"))
    end)

    it("is not sent when the allow carried no action_id", function()
      local env, handler = setup({ context = REFUND, sidecar = { allowed({ action_id = cjson.null }) } })
      env:run(handler, schema_check.config())
      assert.equal(0, #env.timers)
      assert.equal(1, #env.sidecar_calls)
    end)

    it("is not sent when send_completion is off", function()
      local env, handler = setup({ context = REFUND, sidecar = { allowed() } })
      env:run(handler, schema_check.config({ send_completion = false }))
      assert.equal(0, #env.timers)
    end)

    it("omits latencies when kong.log.serialize fails", function()
      local env, handler = setup({ context = { serialize_error = "boom" },
                                   sidecar = { allowed(), { status = 204, body = "" } } })
      env:run(handler, schema_check.config())
      assert.same({ action_id = "act-1", upstream_status = 200 }, env.sidecar_calls[2].json)
    end)

    it("only logs a completion the sidecar did not take", function()
      for _, outcome in ipairs({ { err = "connection refused" }, { status = 500, body = "" } }) do
        local env, handler = setup({ context = REFUND, sidecar = { allowed(), outcome } })
        env:run(handler, schema_check.config())
        assert.is_nil(env.exited)
        assert.equal(1, #env:logged("warn"))
      end
    end)

    it("only logs a timer that cannot be scheduled", function()
      local env, handler = setup({ context = REFUND, sidecar = { allowed() },
                                   timer_error = "too many pending timers" })
      env:run(handler, schema_check.config())
      assert.matches("too many pending timers", env:logged("warn")[1], 1, true)
    end)
  end)
end)
