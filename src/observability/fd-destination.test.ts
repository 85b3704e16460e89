/**
 * FdDestination on real descriptors: a file, and a Unix socket whose reader has stopped
 * reading, so the kernel buffer fills and write(2) answers EAGAIN as a full stdout pipe would.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FdDestination, logLosses } from './fd-destination.js';
import { waitFor } from '../../test/helpers/wait.js';

const lineOf = (i: number) => `{"n":${i},"pad":"${'x'.repeat(200)}"}\n`;

/** A connected socket pair over a Unix socket; the reading side starts paused. */
async function stalledSocket(): Promise<{ fd: number; reader: Socket; received: () => Buffer; close: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'fd-dest-'));
  const path = join(dir, 's.sock');
  let reader: Socket | undefined;
  const chunks: Buffer[] = [];
  const server: Server = createServer((s) => {
    reader = s;
    s.pause();
    s.on('data', (c: Buffer) => chunks.push(c));
  });
  await new Promise<void>((r) => server.listen(path, r));
  const writer = createConnection(path);
  await new Promise<void>((r) => writer.once('connect', () => r()));
  await waitFor(() => reader !== undefined);
  // The writer's descriptor: non-blocking, as libuv leaves every socket and pipe it opens.
  const fd = (writer as unknown as { _handle: { fd: number } })._handle.fd;
  return {
    fd,
    reader: reader as Socket,
    received: () => Buffer.concat(chunks),
    close: () => {
      writer.destroy();
      reader?.destroy();
      server.close();
    },
  };
}

describe('FdDestination', () => {
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const c of closers.splice(0)) c();
  });

  it('appends to a file (creating its directory) and lets the caller reuse its buffer at once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fd-dest-'));
    const path = join(dir, 'nested', 'log.jsonl');
    const d = new FdDestination(path);
    const chunk = Buffer.alloc(32);
    for (let i = 0; i < 3; i++) {
      const n = chunk.write(`line ${i}\n`);
      expect(d.write(chunk.subarray(0, n))).toBe(true);
      chunk.fill(0x21); // overwritten straight after the hand-off
    }
    d.write('from a string\n');
    expect(readFileSync(path, 'utf8')).toBe('line 0\nline 1\nline 2\nfrom a string\n');
    new FdDestination(path).write('appended\n');
    expect(readFileSync(path, 'utf8').endsWith('from a string\nappended\n')).toBe(true);
  });

  it('counts the lines a failing descriptor loses (ENOSPC on /dev/full)', () => {
    const d = new FdDestination('/dev/full');
    const before = logLosses.droppedBytes;
    d.write('{"a":1}\n{"b":2}\n');
    d.write(Buffer.from('{"c":3}\n'));
    expect(d.lostLines).toBe(3);
    expect(logLosses.droppedBytes - before).toBe(24);
  });

  it('names the path when the file cannot be opened', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'fd-dest-')), 'a-file');
    writeFileSync(file, '');
    const bad = join(file, 'sub', 'log.jsonl'); // a directory under a regular file: ENOTDIR
    expect(() => new FdDestination(bad)).toThrow(`cannot open log file ${bad}`);
  });

  it('keeps every byte, in order, while a non-blocking peer is full, and writes them once it reads', async () => {
    const s = await stalledSocket();
    closers.push(s.close);
    const d = new FdDestination(s.fd, { maxBacklogBytes: 64 * 2 ** 20 });
    const chunk = Buffer.allocUnsafeSlow(4096);
    let refused = 0;
    let expected = '';
    // ~4 MiB: far more than the kernel buffers of a stalled socket.
    for (let i = 0; i < 20_000; i++) {
      const l = lineOf(i);
      expected += l;
      const n = chunk.write(l);
      if (!d.write(chunk.subarray(0, n))) refused++;
      chunk.fill(0); // the destination must have copied what it kept
    }
    expect(refused).toBeGreaterThan(0);
    s.reader.resume();
    await waitFor(() => s.received().length >= expected.length, { timeoutMs: 20_000, what: 'the backlog to drain' });
    expect(s.received().toString()).toBe(expected);
  });

  it('drops whole writes past the backlog bound and counts them; never half a line', async () => {
    const s = await stalledSocket();
    closers.push(s.close);
    const d = new FdDestination(s.fd, { maxBacklogBytes: 8192 });
    let counted = logLosses.droppedBytes;
    let dropped = 0;
    const kept: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const l = lineOf(i);
      d.write(l);
      if (logLosses.droppedBytes > counted) {
        expect(logLosses.droppedBytes - counted).toBe(Buffer.byteLength(l)); // the whole line, nothing else
        counted = logLosses.droppedBytes;
        dropped++;
      } else kept.push(l);
    }
    expect(dropped).toBeGreaterThan(0);
    expect(d.lostLines).toBe(dropped); // one line per dropped write, for the sinks that count rows
    s.reader.resume();
    const want = kept.join('');
    await waitFor(() => s.received().length >= want.length, { timeoutMs: 20_000, what: 'the backlog to drain' });
    // Every line not counted as dropped arrived whole and in order.
    expect(s.received().toString()).toBe(want);
  });

  it('flushSync writes out the backlog while another process drains the pipe', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fd-dest-')), 'out');
    // A reader that does not read until told to (SIGUSR2), then copies the pipe to a file.
    const child = spawn('sh', ['-c', 'trap "cat > \"$OUT\"; exit 0" USR2; echo ready; while :; do sleep 0.05; done'], {
      env: { ...process.env, OUT: out },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    closers.push(() => child.kill('SIGKILL'));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    // A SIGUSR2 that came before the trap was set would kill the shell instead.
    await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
    const stdin = child.stdin as unknown as { _handle: { fd: number }; destroy(): void };
    const d = new FdDestination(stdin._handle.fd, { flushTimeoutMs: 30_000 });
    let expected = '';
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      expected += lineOf(i);
      if (!d.write(lineOf(i))) refused++;
    }
    expect(refused).toBeGreaterThan(0); // the pipe (64 KiB) filled: there is a backlog to flush
    child.kill('SIGUSR2');
    d.flushSync(); // blocks this process until the pipe has taken everything
    stdin.destroy(); // EOF: cat finishes the file
    expect(await exited).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(expected);
  });
});
