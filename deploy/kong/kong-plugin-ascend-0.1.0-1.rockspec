-- LuaRocks package of the ascend Kong plugin.
--   luarocks make kong-plugin-ascend-0.1.0-1.rockspec   (from deploy/kong)
-- `luarocks make` builds from this folder and ignores `source`; set
-- source.url to your repository before `luarocks pack` / `luarocks upload`.
package = "kong-plugin-ascend"
version = "0.1.0-1"

source = {
  url = "git+https://REPLACE-WITH-YOUR-REMOTE/ascend-sidecar.git",
  tag = "v0.1.0",
  dir = "ascend-sidecar/deploy/kong",
}

description = {
  summary = "Kong 3.x plugin that asks the ascend sidecar to authorize AI-agent requests",
  detailed = [[
    Sends each proxied request to the ascend authorization sidecar
    (POST /kong/v1/authorize) and applies its decision: allowed requests get
    the sidecar's upstream headers, denied and pending ones are answered with
    the sidecar's status, body and headers. Reports completions
    (POST /kong/v1/complete) after the response without delaying it.
  ]],
  license = "Apache-2.0",
}

-- lua-resty-http, lua-resty-lrucache, lua-resty-string (resty.sha256) and
-- lua-cjson ship with Kong (OpenResty); nothing else is needed.
dependencies = {
  "lua >= 5.1",
}

build = {
  type = "builtin",
  modules = {
    ["kong.plugins.ascend.handler"] = "kong/plugins/ascend/handler.lua",
    ["kong.plugins.ascend.schema"] = "kong/plugins/ascend/schema.lua",
    ["kong.plugins.ascend.decision_cache"] = "kong/plugins/ascend/decision_cache.lua",
  },
}
