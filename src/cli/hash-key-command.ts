/**
 * `hash-key`: the digest to put in `api_keys[].sha256`. The key comes from --key or stdin (one
 * trailing newline dropped, so `echo KEY | ascend-sidecar hash-key` works); --generate makes a
 * random key and prints both. Prefer stdin: --key leaves the key in shell history.
 */
import { UsageError, type Command } from './command.js';

export const hashKeyCommand: Command = {
  name: 'hash-key',
  summary: 'the SHA-256 hex of an API key (stdin), for api_keys[].sha256; --generate makes a key',
  usage: '[--key KEY | --generate]',
  options: { key: { type: 'string' }, generate: { type: 'boolean' } },
  async run(v) {
    const { generateKey, sha256Hex } = await import('../api/keys.js');
    if (v.generate === true) {
      const k = generateKey();
      process.stdout.write(`key:    ${k.key}\nsha256: ${k.sha256}\n`);
      return 0;
    }
    let text = v.key as string | undefined;
    if (text === undefined) {
      if (process.stdin.isTTY) throw new UsageError('pass the key on stdin (or --key KEY, or --generate)', hashKeyCommand);
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    }
    if (text === '') throw new UsageError('the key is empty', hashKeyCommand);
    process.stdout.write(`${sha256Hex(text)}\n`);
    return 0;
  },
};
