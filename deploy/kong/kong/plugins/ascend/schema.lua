-- Configuration schema of the `ascend` plugin (Kong 3.x schema DSL).
--
-- Every field but gateway_token and the three per-step timeouts is
-- `required` with a default, so the handler can read `conf.x` without nil
-- checks: Kong fills defaults before the plugin ever sees the config, and
-- rejects values outside the bounds below when the config is created (Admin
-- API) or loaded (declarative kong.yml). The optional fields have no default
-- because "unset" means something (no token; use timeout_ms).
local typedefs = require "kong.db.schema.typedefs"


-- Headers that carry who is asking or what is asked for, which no list of
-- volatile headers may name: leaving one out of the cache key would give
-- one client's cached allow to another.
local NEVER_IGNORED = {
  ["authorization"] = true,
  ["proxy-authorization"] = true,
  ["cookie"] = true,
  ["host"] = true,
  ["content-type"] = true,
}

local function volatile_headers(names)
  for _, name in ipairs(names) do
    local lname = name:lower()
    if NEVER_IGNORED[lname] or lname:find("^x%-ascend%-") then
      return nil, "cache_ignore_headers cannot name " .. lname
                  .. ": the cache key must depend on it"
    end
  end
  return true
end


return {
  name = "ascend",
  fields = {
    -- Authorization is about the request, not about one consumer: a
    -- consumer-scoped instance would silently skip anonymous traffic.
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          -- Base URL of the sidecar; the plugin appends /kong/v1/authorize
          -- and /kong/v1/complete. A path prefix is allowed (for a sidecar
          -- behind a reverse proxy); a query or fragment is not, since the
          -- endpoint path is appended after it.
          { sidecar_url = typedefs.url {
              required = true,
              default = "http://127.0.0.1:8181",
              match = "^https?://[^/]",
              not_match = "[?#]",
          } },
          -- The default of each of connect, send and read (resty.http
          -- set_timeouts): a step whose own field below is unset gets
          -- timeout_ms, so the worst case is about 3 x timeout_ms.
          { timeout_ms = { type = "integer", required = true, default = 200,
                           between = { 1, 60000 } } },
          -- Per-step timeouts; unset (the default) means timeout_ms. The
          -- read timeout covers the sidecar's decision, the connect timeout
          -- only a new connection (a pooled one is already connected).
          { connect_timeout_ms = { type = "integer", required = false, between = { 1, 60000 } } },
          { send_timeout_ms = { type = "integer", required = false, between = { 1, 60000 } } },
          { read_timeout_ms = { type = "integer", required = false, between = { 1, 60000 } } },
          -- Below the sidecar's server.http_keep_alive_timeout_ms (15 s by
          -- default), so the plugin, not the sidecar, ends idle connections:
          -- a request sent on a pooled connection the sidecar is closing at
          -- that moment fails, and fail_mode answers it.
          { keepalive_timeout_ms = { type = "integer", required = true, default = 10000,
                                     between = { 1, 3600000 } } },
          { keepalive_pool_size = { type = "integer", required = true, default = 64,
                                    between = { 1, 10000 } } },
          -- What to do when no usable answer comes back from the sidecar.
          { fail_mode = { type = "string", required = true, default = "closed",
                          one_of = { "closed", "open" } } },
          { send_body = { type = "boolean", required = true, default = false } },
          -- Capped so a misconfiguration cannot ship megabytes per request
          -- to the sidecar (JSON escaping can grow the body up to 6x).
          { max_body_bytes = { type = "integer", required = true, default = 8192,
                               between = { 1, 262144 } } },
          -- Only a hint passed to the sidecar as `agent_id_from`; the
          -- sidecar decides identity, the plugin never does.
          { agent_id_from_consumer = { type = "string", required = true, default = "username",
                                       one_of = { "username", "custom_id", "none" } } },
          { send_completion = { type = "boolean", required = true, default = true } },
          { ssl_verify = { type = "boolean", required = true, default = true } },
          -- The sidecar's gateway_access.token, sent as x-ascend-gateway-token
          -- on every call when set (a sidecar shared by several gateways needs
          -- it; one beside Kong on loopback does not). The one field without
          -- a default: unset means no header. A secret: encrypted at rest with
          -- Kong's keyring, and it may be a vault reference such as
          -- {vault://env/ascend-gateway-token}.
          { gateway_token = { type = "string", required = false, len_min = 1,
                              encrypted = true, referenceable = true } },
          -- Per-worker cache of plain allows (decision_cache.lua says what
          -- it trades). 0, the default, turns it off; at most a minute, so
          -- a kill switch or policy change reaches cached requests soon.
          { cache_ttl_ms = { type = "integer", required = true, default = 0,
                             between = { 0, 60000 } } },
          -- Entries per plugin instance and worker; the least recently used
          -- one goes first. A few hundred bytes each.
          { cache_max_entries = { type = "integer", required = true, default = 1000,
                                  between = { 1, 100000 } } },
          -- Request headers left out of the cache key because they differ
          -- on every request (tracing, request ids): with them in the key
          -- nothing would ever hit. Only list headers no policy reads: two
          -- requests that differ only here share one cached allow. Headers
          -- naming the caller or the content (NEVER_IGNORED, x-ascend-*)
          -- are refused.
          { cache_ignore_headers = { type = "array", required = true,
                                     default = { "x-request-id", "traceparent", "tracestate", "b3",
                                                 "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid",
                                                 "x-b3-sampled", "x-b3-flags" },
                                     elements = { type = "string", len_min = 1,
                                                  match = "^[%w!#$%%&'*+.^_`|~-]+$" },
                                     custom_validator = volatile_headers } },
        },
    } },
  },
}
