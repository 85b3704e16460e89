/**
 * `schema`: the config's JSON Schema for editors (YAML language servers, `# yaml-language-server:
 * $schema=…`). The validator's schema marks every key with a default as required (defaults are
 * filled before validation), so an editor would reject the bundled quickstart; here a key with a
 * default is optional, and the document says what it is ($schema, $id, title).
 */
import { ConfigSchema } from '../config/schema.js';
import type { Command } from './command.js';

type Json = Record<string, unknown>;

/** A deep copy in which keys that have a default are no longer required. */
export function editorSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(editorSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema as Json)) out[k] = editorSchema(v);
  const props = out.properties as Record<string, Json> | undefined;
  if (Array.isArray(out.required) && props) {
    const required = (out.required as string[]).filter((k) => !(props[k] && 'default' in props[k]));
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  return out;
}

export function publishedSchema(): Json {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://ascend-sidecar.dev/schema/config.json',
    title: 'ascend-sidecar config',
    description: 'The sidecar\'s YAML config (README "Configuration"); `ascend-sidecar validate` checks the rest (cross-field rules, secrets).',
    ...(editorSchema(JSON.parse(JSON.stringify(ConfigSchema))) as Json),
  };
}

export const schemaCommand: Command = {
  name: 'schema',
  summary: "print the config's JSON Schema (for editor completion)",
  usage: '',
  options: {},
  async run() {
    process.stdout.write(`${JSON.stringify(publishedSchema(), null, 2)}\n`);
    return 0;
  },
};
