-- The contract with the sidecar's Kong endpoint: for every case of the shared
-- fixture, the plugin must send exactly `expected_request` to
-- POST /kong/v1/authorize when the PDK returns `kong_context`. The sidecar's
-- TypeScript tests replay the same `expected_request` bodies and check
-- `expected_decision`, so the two sides cannot drift apart unnoticed.
local cjson = require "cjson"
local kong_stub = require "spec.helpers.kong_stub"
local schema_check = require "spec.helpers.schema_check"

-- Relative to deploy/kong, where run-tests.sh (and .busted) run busted.
local FIXTURE = "../../test/fixtures/kong/plugin-requests.json"

local DECISIONS = { allowed = true, denied = true, pending = true }


local function load_cases()
  local file = assert(io.open(FIXTURE, "r"))
  local cases = cjson.decode(file:read("*a"))
  file:close()
  return cases
end


describe("shared fixture " .. FIXTURE, function()
  local cases = load_cases()

  after_each(function()
    kong_stub.uninstall()
  end)

  it("holds uniquely named cases, each with an expected decision", function()
    assert.is_true(#cases >= 15)
    local names, seen = {}, { allowed = 0, denied = 0, pending = 0 }
    for _, case in ipairs(cases) do
      assert.is_string(case.name)
      assert.is_nil(names[case.name], "duplicate case " .. case.name)
      names[case.name] = true
      assert.is_string(case.why, case.name)
      assert.is_table(case.kong_context, case.name)
      assert.is_table(case.expected_request, case.name)
      assert.is_true(DECISIONS[case.expected_decision], case.name)
      seen[case.expected_decision] = seen[case.expected_decision] + 1
    end
    for decision, count in pairs(seen) do
      assert.is_true(count > 0, "no case expects " .. decision)
    end
  end)

  for _, case in ipairs(cases) do
    it("builds exactly the expected request for " .. case.name, function()
      local env = kong_stub.new({
        context = case.kong_context,
        sidecar = { { answer = { allow = true, upstream_headers = {}, client_headers = {} } } },
      })
      local handler = env:load_handler()
      handler:access(schema_check.config(case.plugin_config))

      assert.equal(1, #env.sidecar_calls)
      assert.matches("/kong/v1/authorize$", env.sidecar_calls[1].uri)
      assert.same(case.expected_request, env.sidecar_calls[1].json)
    end)

    it("sends the same request with the decision cache on, for " .. case.name, function()
      local config = { cache_ttl_ms = 1000 }
      for k, v in pairs(case.plugin_config or {}) do config[k] = v end
      local env = kong_stub.new({
        context = case.kong_context,
        sidecar = { { answer = { allow = true, upstream_headers = {}, client_headers = {} } } },
      })
      local handler = env:load_handler()
      handler:access(schema_check.config(config))

      assert.equal(1, #env.sidecar_calls)
      assert.same(case.expected_request, env.sidecar_calls[1].json)
    end)
  end
end)
