/**
 * Protobuf tags of the Envoy messages we read and write by hand, named. A tag is
 * `(field number << 3) | wire type`: wire type 0 varint, 1 fixed64, 2 length-delimited.
 * Field numbers from protos/ (envoy/service/auth/v3/{attribute_context,external_auth}.proto,
 * envoy/config/core/v3/{address,base}.proto, google/protobuf/struct.proto, google/rpc/status.proto).
 */

// ── CheckRequest and AttributeContext (attribute_context.proto) ──
export const CHECK_ATTRIBUTES = 10; // CheckRequest.attributes, field 1 message
export const ATTR_SOURCE = 10; // AttributeContext.source, field 1 Peer
export const ATTR_DESTINATION = 18; // AttributeContext.destination, field 2 Peer
export const ATTR_REQUEST = 34; // AttributeContext.request, field 4 Request
export const ATTR_CONTEXT_EXTENSIONS = 82; // AttributeContext.context_extensions, field 10 map<string,string>
export const ATTR_METADATA_CONTEXT = 90; // AttributeContext.metadata_context, field 11 Metadata
export const ATTR_TLS_SESSION = 98; // AttributeContext.tls_session, field 12 TLSSession
export const ATTR_ROUTE_METADATA = 106; // AttributeContext.route_metadata_context, field 13 Metadata
export const PEER_ADDRESS = 10; // Peer.address, field 1 Address
export const PEER_PRINCIPAL = 34; // Peer.principal, field 4 string
export const REQUEST_HTTP = 18; // Request.http, field 2 HttpRequest
export const TLS_SNI = 10; // TLSSession.sni, field 1 string

// ── HttpRequest ──
export const HTTP_ID = 10; // HttpRequest.id, field 1 string
export const HTTP_METHOD = 18; // HttpRequest.method, field 2 string
export const HTTP_HEADERS = 26; // HttpRequest.headers, field 3 map<string,string>
export const HTTP_PATH = 34; // HttpRequest.path, field 4 string
export const HTTP_HOST = 42; // HttpRequest.host, field 5 string
export const HTTP_SCHEME = 50; // HttpRequest.scheme, field 6 string
export const HTTP_SIZE = 72; // HttpRequest.size, field 9 varint
export const HTTP_PROTOCOL = 82; // HttpRequest.protocol, field 10 string
export const HTTP_BODY = 90; // HttpRequest.body, field 11 string
export const HTTP_RAW_BODY = 98; // HttpRequest.raw_body, field 12 bytes
export const HTTP_HEADER_MAP = 106; // HttpRequest.header_map, field 13 HeaderMap

// ── core.v3 (address.proto, base.proto) ──
export const ADDRESS_SOCKET = 10; // Address.socket_address, field 1 SocketAddress
export const SOCKET_ADDRESS = 18; // SocketAddress.address, field 2 string
export const HEADER_MAP_HEADERS = 10; // HeaderMap.headers, field 1 repeated HeaderValue
export const HEADER_KEY = 10; // HeaderValue.key, field 1 string
export const HEADER_VALUE = 18; // HeaderValue.value, field 2 string
export const HEADER_RAW_VALUE = 26; // HeaderValue.raw_value, field 3 bytes
export const OPTION_HEADER = 10; // HeaderValueOption.header, field 1 HeaderValue
export const OPTION_APPEND_ACTION = 24; // HeaderValueOption.append_action, field 3 varint
export const METADATA_FILTER = 10; // Metadata.filter_metadata, field 1 map<string, Struct>

// ── map entries (every map<K,V> is repeated {key = 1; value = 2}) ──
export const MAP_KEY = 10; // key, field 1
export const MAP_VALUE = 18; // value, field 2

// ── google.protobuf.Struct / Value / ListValue (struct.proto) ──
export const STRUCT_FIELDS = 10; // Struct.fields, field 1 map<string, Value>
export const VALUE_NULL = 8; // Value.null_value, field 1 varint
export const VALUE_NUMBER = 17; // Value.number_value, field 2 fixed64 double
export const VALUE_STRING = 26; // Value.string_value, field 3 string
export const VALUE_BOOL = 32; // Value.bool_value, field 4 varint
export const VALUE_STRUCT = 42; // Value.struct_value, field 5 Struct
export const VALUE_LIST = 50; // Value.list_value, field 6 ListValue
export const LIST_VALUES = 10; // ListValue.values, field 1 repeated Value

// ── CheckResponse (external_auth.proto) and google.rpc.Status ──
export const RESPONSE_STATUS = 10; // CheckResponse.status, field 1 google.rpc.Status
export const RESPONSE_DENIED = 18; // CheckResponse.denied_response, field 2 DeniedHttpResponse
export const RESPONSE_OK = 26; // CheckResponse.ok_response, field 3 OkHttpResponse
export const RESPONSE_DYNAMIC_METADATA = 34; // CheckResponse.dynamic_metadata, field 4 Struct
export const STATUS_CODE = 8; // google.rpc.Status.code, field 1 varint
export const STATUS_MESSAGE = 18; // google.rpc.Status.message, field 2 string
export const DENIED_STATUS = 10; // DeniedHttpResponse.status, field 1 HttpStatus
export const DENIED_HEADERS_FIELD = 2; // DeniedHttpResponse.headers, field 2 HeaderValueOption
export const DENIED_BODY = 26; // DeniedHttpResponse.body, field 3 string
export const HTTP_STATUS_CODE = 8; // type.v3.HttpStatus.code, field 1 varint
export const OK_HEADERS_FIELD = 2; // OkHttpResponse.headers, field 2 HeaderValueOption
export const OK_HEADERS_TO_REMOVE = 42; // OkHttpResponse.headers_to_remove, field 5 repeated string
