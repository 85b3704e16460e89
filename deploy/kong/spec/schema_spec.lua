-- The plugin's config schema: defaults, bounds, and the example kong.yml.
local schema_check = require "spec.helpers.schema_check"


local DEFAULTS = {
  sidecar_url = "http://127.0.0.1:8181",
  timeout_ms = 200,
  keepalive_timeout_ms = 10000,
  keepalive_pool_size = 64,
  fail_mode = "closed",
  send_body = false,
  max_body_bytes = 8192,
  agent_id_from_consumer = "username",
  send_completion = true,
  ssl_verify = true,
  cache_ttl_ms = 0,
  cache_max_entries = 1000,
  cache_ignore_headers = { "x-request-id", "traceparent", "tracestate", "b3", "x-b3-traceid",
                           "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags" },
}


describe("ascend schema", function()
  local schema = schema_check.load_schema()

  it("is named ascend, cannot be scoped to a consumer and runs on HTTP protocols", function()
    assert.equal("ascend", schema.name)
    local top = {}
    for _, entry in ipairs(schema.fields) do
      local name, field = next(entry)
      top[name] = field
    end
    assert.equal(schema_check.typedefs.no_consumer, top.consumer)
    assert.equal(schema_check.typedefs.protocols_http, top.protocols)
    assert.equal("record", top.config.type)
  end)

  it("fills every field with its default", function()
    assert.same(DEFAULTS, schema_check.validate(schema, {}))
  end)

  local OPTIONAL = { gateway_token = true, connect_timeout_ms = true, send_timeout_ms = true,
                    read_timeout_ms = true }

  it("makes every field but the optional ones required with a default, so the handler never sees nil", function()
    for _, entry in ipairs(schema_check.config_fields(schema)) do
      if not OPTIONAL[entry.name] then
        assert.is_true(entry.field.required, entry.name .. " is required")
        assert.is_not_nil(entry.field.default, entry.name .. " has a default")
      end
    end
  end)

  it("keeps gateway_token optional, without a default, encrypted and referenceable", function()
    local token
    for _, entry in ipairs(schema_check.config_fields(schema)) do
      if entry.name == "gateway_token" then
        token = entry.field
      end
    end
    assert.same({ type = "string", required = false, len_min = 1, encrypted = true, referenceable = true }, token)
    assert.is_nil(schema_check.validate(schema, {}).gateway_token)
  end)

  it("keeps the per-step timeouts optional, without a default, bounded like timeout_ms", function()
    local fields = {}
    for _, entry in ipairs(schema_check.config_fields(schema)) do
      fields[entry.name] = entry.field
    end
    for _, name in ipairs({ "connect_timeout_ms", "send_timeout_ms", "read_timeout_ms" }) do
      assert.same({ type = "integer", required = false, between = { 1, 60000 } }, fields[name], name)
      assert.is_nil(schema_check.validate(schema, {})[name], name)
    end
  end)

  it("accepts each per-step timeout alone", function()
    local conf = schema_check.validate(schema, { read_timeout_ms = 60000 })
    assert.equal(60000, conf.read_timeout_ms)
    assert.is_nil(conf.connect_timeout_ms)
    assert.equal(200, conf.timeout_ms)
  end)

  it("accepts valid values", function()
    local config = {
      sidecar_url = "https://sidecar.internal:9443/ascend",
      timeout_ms = 1, connect_timeout_ms = 1, send_timeout_ms = 60000, read_timeout_ms = 2500,
      keepalive_timeout_ms = 3600000, keepalive_pool_size = 10000,
      fail_mode = "open", send_body = true, max_body_bytes = 262144,
      agent_id_from_consumer = "custom_id", send_completion = false, ssl_verify = false,
      gateway_token = "gw-token-3f9a1c77e2",
      cache_ttl_ms = 60000, cache_max_entries = 100000, cache_ignore_headers = { "X-Trace-Id" },
    }
    assert.same(config, schema_check.validate(schema, config))
  end)

  local invalid = {
    { "sidecar_url", "ftp://sidecar:8181" },
    { "sidecar_url", "127.0.0.1:8181" },
    { "sidecar_url", "http://sidecar:8181/?x=1" },
    { "sidecar_url", "http://sidecar:8181/#frag" },
    { "sidecar_url", "http:///path" },
    { "sidecar_url", 8181 },
    { "timeout_ms", 0 },
    { "timeout_ms", 60001 },
    { "timeout_ms", 1.5 },
    { "timeout_ms", "200" },
    { "connect_timeout_ms", 0 },
    { "connect_timeout_ms", 60001 },
    { "connect_timeout_ms", 2.5 },
    { "send_timeout_ms", 0 },
    { "send_timeout_ms", 60001 },
    { "send_timeout_ms", "100" },
    { "read_timeout_ms", 0 },
    { "read_timeout_ms", 60001 },
    { "read_timeout_ms", -1 },
    { "cache_ttl_ms", -1 },
    { "cache_ttl_ms", 60001 },
    { "cache_ttl_ms", 0.5 },
    { "cache_max_entries", 0 },
    { "cache_max_entries", 100001 },
    { "cache_ignore_headers", "x-request-id" },
    { "cache_ignore_headers", { "" } },
    { "cache_ignore_headers", { "x request id" } },
    { "cache_ignore_headers", { "x-request-id:" } },
    { "cache_ignore_headers", { 42 } },
    { "cache_ignore_headers", { a = "x-request-id" } },
    { "cache_ignore_headers", { "x-request-id", "Authorization" } },
    { "cache_ignore_headers", { "proxy-authorization" } },
    { "cache_ignore_headers", { "Cookie" } },
    { "cache_ignore_headers", { "host" } },
    { "cache_ignore_headers", { "content-type" } },
    { "cache_ignore_headers", { "X-Ascend-Gateway-Token" } },
    { "keepalive_timeout_ms", 0 },
    { "keepalive_pool_size", 0 },
    { "keepalive_pool_size", 10001 },
    { "fail_mode", "maybe" },
    { "fail_mode", "OPEN" },
    { "send_body", "yes" },
    { "max_body_bytes", 0 },
    { "max_body_bytes", 262145 },
    { "agent_id_from_consumer", "email" },
    { "send_completion", "true" },
    { "ssl_verify", 1 },
    { "gateway_token", "" },
    { "gateway_token", 12345 },
  }

  for _, case in ipairs(invalid) do
    local field, value = case[1], case[2]
    it(("rejects %s = %s (%s)"):format(field, tostring(value), type(value)), function()
      local config, errors = schema_check.validate(schema, { [field] = value })
      assert.is_nil(config)
      assert.is_string(errors[field])
      -- only the bad field is reported
      local count = 0
      for _ in pairs(errors) do count = count + 1 end
      assert.equal(1, count)
    end)
  end

  it("says which header cache_ignore_headers cannot name", function()
    local _, errors = schema_check.validate(schema, { cache_ignore_headers = { "traceparent", "Authorization" } })
    assert.matches("cannot name authorization", errors.cache_ignore_headers, 1, true)
  end)

  it("accepts an empty cache_ignore_headers (every header in the cache key)", function()
    assert.same({}, schema_check.validate(schema, { cache_ignore_headers = {} }).cache_ignore_headers)
  end)

  it("rejects unknown fields", function()
    local config, errors = schema_check.validate(schema, { fail_open = true })
    assert.is_nil(config)
    assert.equal("unknown field", errors.fail_open)
  end)
end)


describe("example kong.yml", function()
  local ok, lyaml = pcall(require, "lyaml")

  it("configures the ascend plugin with a config the schema accepts", function()
    if not ok then
      pending("lyaml not installed (apt-get install lua-yaml)")
      return
    end
    local file = assert(io.open("kong.yml", "r"))
    local doc = lyaml.load(file:read("*a"))
    file:close()

    assert.equal("3.0", doc._format_version)
    local ascend
    for _, plugin in ipairs(doc.plugins) do
      if plugin.name == "ascend" then
        ascend = plugin
      end
    end
    assert.is_table(ascend)
    assert.same(DEFAULTS, schema_check.validate(schema_check.load_schema(), ascend.config))
  end)
end)
