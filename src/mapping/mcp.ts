/**
 * MCP (Model Context Protocol) over streamable HTTP: every POST to the server's one URL carries
 * a JSON-RPC 2.0 message or a batch of them (https://modelcontextprotocol.io/specification,
 * "Transports"; https://www.jsonrpc.org/specification). The method and its params are the
 * action, so an `mcp` route maps each call to an action of its own:
 *
 * - `tools/call` → `mcp.tool` = `params.name`, arguments = `params.arguments`;
 * - `resources/read` → `mcp.uri` = `params.uri`;
 * - `prompts/get` → `mcp.prompt` = `params.name`, arguments = `params.arguments`.
 *
 * Housekeeping (`initialize`, `ping`, the list methods, notifications, and responses the
 * client sends to the server's own requests) is let through without policy unless the route
 * lists it under `mcp.govern`; every other method is governed, so a method this code has never
 * heard of is evaluated rather than waved through.
 */
import { RequestError } from '../core/errors.js';
import { compileGlob } from '../policy/glob.js';

export type JsonRpcId = string | number | null;

/** One governed JSON-RPC call, as templates see it (`{mcp.method}`, `{mcp.tool}`, …). */
export interface McpCall {
  readonly method: string;
  /** Its position in the message (0 for a single message): with the body text, names the call exactly. */
  readonly position?: number;
  /** Absent for a notification (nothing is answered). */
  readonly id?: JsonRpcId;
  readonly tool?: string;
  readonly uri?: string;
  readonly prompt?: string;
  /** `params.arguments` of tools/call and prompts/get; `{}` otherwise. The action's default parameters. */
  readonly arguments: Record<string, unknown>;
}

export interface McpMessage {
  /** The calls to evaluate, in message order. */
  readonly calls: readonly McpCall[];
  /** The id of every request in the message (not notifications), in order: who a JSON-RPC error answers. */
  readonly ids: readonly JsonRpcId[];
  readonly batch: boolean;
  /** The first method in the message (for the record of a message with nothing to govern). */
  readonly firstMethod: string;
}

/** Let through without policy unless listed in `mcp.govern` (globs). */
export const UNGOVERNED_METHODS = [
  'initialize', 'ping', 'tools/list', 'resources/list', 'resources/templates/list', 'prompts/list', 'notifications/*',
] as const;

const ungoverned = UNGOVERNED_METHODS.map((m) => compileGlob(m));

export interface McpOptions {
  /** Globs of housekeeping methods to evaluate after all. */
  readonly govern: readonly string[];
  readonly maxBatch: number;
}

export type GovernTest = (method: string) => boolean;

export function compileGovern(govern: readonly string[]): GovernTest {
  const extra = govern.map((g) => compileGlob(g));
  return (method) => !ungoverned.some((t) => t(method)) || extra.some((t) => t(method));
}

function invalid(message: string): RequestError {
  return new RequestError('invalid_mcp', message);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

function nameParam(params: Record<string, unknown>, method: string, key: 'name' | 'uri'): string {
  const v = params[key];
  if (typeof v !== 'string' || v === '') throw invalid(`${method} needs params.${key} (a non-empty string)`);
  return v;
}

function argumentsOf(params: Record<string, unknown>, method: string): Record<string, unknown> {
  const a = params.arguments;
  if (a === undefined) return {};
  if (!isObject(a)) throw invalid(`${method}: params.arguments must be an object`);
  return a;
}

/** One call's fields from its method and params (literal objects: a spread per call showed in profiles). */
function callOf(method: string, id: JsonRpcId | undefined, rawParams: unknown, position: number): McpCall {
  if (rawParams !== undefined && !isObject(rawParams) && !Array.isArray(rawParams)) throw invalid(`${method}: params must be an object or an array`);
  const params = isObject(rawParams) ? rawParams : {};
  switch (method) {
    case 'tools/call':
      return { method, position, id, tool: nameParam(params, method, 'name'), arguments: argumentsOf(params, method) };
    case 'prompts/get':
      return { method, position, id, prompt: nameParam(params, method, 'name'), arguments: argumentsOf(params, method) };
    case 'resources/read':
      return { method, position, id, uri: nameParam(params, method, 'uri'), arguments: {} };
    default:
      return { method, position, id, arguments: {} };
  }
}

function idOf(m: Record<string, unknown>, at: string): JsonRpcId | undefined {
  if (!has(m, 'id')) return undefined;
  const id = m.id;
  if (typeof id === 'string' || id === null || (typeof id === 'number' && Number.isFinite(id))) return id;
  throw invalid(`${at}: id must be a string, a number or null`);
}

/**
 * A parsed body → the calls to govern. Throws `invalid_mcp` for anything that is not a
 * JSON-RPC 2.0 message or a non-empty batch of them, or a governed call without its params.
 */
export function parseMcp(body: unknown, isGoverned: GovernTest, maxBatch: number): McpMessage {
  const batch = Array.isArray(body);
  const messages: unknown[] = batch ? body : [body];
  if (messages.length === 0) throw invalid('an empty JSON-RPC batch');
  if (messages.length > maxBatch) throw invalid(`a JSON-RPC batch of ${messages.length} messages (at most ${maxBatch}: mcp.max_batch)`);
  const calls: McpCall[] = [];
  const ids: JsonRpcId[] = [];
  let firstMethod: string | undefined;
  messages.forEach((m, i) => {
    const at = batch ? `batch[${i}]` : 'message';
    if (!isObject(m)) throw invalid(`${at} is not a JSON-RPC object`);
    if (m.jsonrpc !== '2.0') throw invalid(`${at}: jsonrpc must be "2.0"`);
    const id = idOf(m, at);
    if (!has(m, 'method')) {
      // A response to a request the server sent (sampling, elicitation): nothing to govern.
      if (id !== undefined && (has(m, 'result') || has(m, 'error'))) return;
      throw invalid(`${at} has no method (not a request, a notification or a response)`);
    }
    const method = m.method;
    if (typeof method !== 'string' || method === '') throw invalid(`${at}: method must be a non-empty string`);
    firstMethod ??= method;
    if (id !== undefined) ids.push(id);
    if (isGoverned(method)) calls.push(callOf(method, id, m.params, i));
  });
  return { calls, ids, batch, firstMethod: firstMethod ?? 'response' };
}
