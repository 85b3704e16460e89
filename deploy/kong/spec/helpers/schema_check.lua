-- A small stand-in for the part of Kong's schema machinery that the ascend
-- schema uses: `kong.db.schema.typedefs` (url, no_consumer, protocols_http)
-- and the field validation Kong runs on a plugin's `config` record
-- (defaults, required, type, between, one_of, len_min, match, not_match,
-- custom_validator, arrays with `elements`, unknown fields; encrypted and referenceable are accepted
-- as markers, since what they do happens in Kong's DAO and vaults). Semantics follow kong/db/schema/init.lua
-- for those attributes; anything else in a field is an error here, so the
-- stand-in cannot silently ignore an attribute the schema starts using.
local M = {}

local SCHEMA = "kong.plugins.ascend.schema"


-- Schema.define: a field definition that can be called with overrides.
local function define(tbl)
  return setmetatable(tbl, {
    __call = function(t, arg)
      arg = arg or {}
      for k, v in pairs(t) do
        if arg[k] == nil then
          arg[k] = v
        end
      end
      return arg
    end,
  })
end


-- Rough equivalent of Kong's validate_url (socket.url): a scheme and a host.
local function validate_url(url)
  if not url:match("^%a[%w+.-]*://") then
    return nil, "missing scheme in url"
  end
  if not url:match("^%a[%w+.-]*://[^/?#:]+") then
    return nil, "missing host in url"
  end
  return true
end


M.typedefs = {
  url = define { type = "string", custom_validator = validate_url },
  no_consumer = define { type = "foreign", reference = "consumers", eq = "null" },
  protocols_http = define {
    type = "set",
    required = true,
    default = { "http", "https" },
    elements = { type = "string", one_of = { "http", "https" } },
  },
}


-- Loads schema.lua against the stand-in typedefs.
function M.load_schema()
  package.loaded["kong.db.schema.typedefs"] = M.typedefs
  package.loaded[SCHEMA] = nil
  return require(SCHEMA)
end


local KNOWN_ATTRIBUTES = {
  type = true, required = true, default = true, between = true, one_of = true,
  len_min = true, match = true, not_match = true, custom_validator = true, description = true,
  encrypted = true, referenceable = true, elements = true,
}

local TYPE_CHECKS = {
  string = function(v) return type(v) == "string" end,
  boolean = function(v) return type(v) == "boolean" end,
  number = function(v) return type(v) == "number" end,
  integer = function(v) return type(v) == "number" and v == math.floor(v) end,
  -- a sequence (Kong arrays are JSON arrays): keys 1..n only
  array = function(v)
    if type(v) ~= "table" then
      return false
    end
    local n = 0
    for _ in pairs(v) do n = n + 1 end
    return n == #v
  end,
}


local check_field

function check_field(field, value)
  for attribute in pairs(field) do
    if not KNOWN_ATTRIBUTES[attribute] then
      error("schema stand-in does not know attribute " .. attribute)
    end
  end
  if value == nil then
    return not field.required or nil, "required field missing"
  end
  if not TYPE_CHECKS[field.type](value) then
    return nil, "expected " .. field.type
  end
  if field.one_of then
    local found = false
    for _, option in ipairs(field.one_of) do
      found = found or option == value
    end
    if not found then
      return nil, "expected one of: " .. table.concat(field.one_of, ", ")
    end
  end
  if field.len_min and #value < field.len_min then
    return nil, ("length must be at least %d"):format(field.len_min)
  end
  if field.between and (value < field.between[1] or value > field.between[2]) then
    return nil, ("value should be between %d and %d"):format(field.between[1], field.between[2])
  end
  if field.not_match and value:match(field.not_match) then
    return nil, "should not match pattern"
  end
  if field.match and not value:match(field.match) then
    return nil, "invalid value: " .. value
  end
  if field.elements then
    for i, element in ipairs(value) do
      local ok, err = check_field(field.elements, element)
      if not ok then
        return nil, ("element %d: %s"):format(i, err)
      end
    end
  end
  if field.custom_validator then
    return field.custom_validator(value)
  end
  return true
end


-- The `config` record of the schema, as an ordered list of {name, field}.
function M.config_fields(schema)
  for _, entry in ipairs(schema.fields) do
    if entry.config then
      local out = {}
      for _, f in ipairs(entry.config.fields) do
        local name, field = next(f)
        out[#out + 1] = { name = name, field = field }
      end
      return out
    end
  end
  error("schema has no config record")
end


-- Returns the config with defaults filled in, or nil and a table of
-- {field_name = error} as Kong reports them.
function M.validate(schema, config)
  local out, errors = {}, {}
  local known = {}
  for _, entry in ipairs(M.config_fields(schema)) do
    local name, field = entry.name, entry.field
    known[name] = true
    local value = config[name]
    if value == nil then
      value = field.default
    end
    local ok, err = check_field(field, value)
    if ok then
      out[name] = value
    else
      errors[name] = err
    end
  end
  for name in pairs(config) do
    if not known[name] then
      errors[name] = "unknown field"
    end
  end
  if next(errors) then
    return nil, errors
  end
  return out
end


-- The plugin config Kong would hand to the handler for `overrides`; raises
-- when the overrides are invalid so a spec cannot run on a bad config.
function M.config(overrides)
  local conf, errors = M.validate(M.load_schema(), overrides or {})
  if not conf then
    local parts = {}
    for k, v in pairs(errors) do
      parts[#parts + 1] = k .. ": " .. v
    end
    error("invalid plugin config: " .. table.concat(parts, "; "), 2)
  end
  return conf
end


return M
