/**
 * A real webhook receiver on 127.0.0.1:0 that verifies every request with verifyWebhook and
 * answers from a script of responses (the last one repeats).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookDetailed, type VerifyResult } from '../../src/events/signing.js';

export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly verified: VerifyResult;
  readonly status: number;
}

export type Answer = number | { status: number; headers?: Record<string, string> } | 'hang';

export interface Receiver {
  readonly url: string;
  readonly received: Received[];
  /** Answers per path, consumed in order; the last one repeats. Default 200. */
  script(path: string, answers: Answer[]): void;
  close(): Promise<void>;
}

/** `port` 0 picks a free one; pass a former receiver's port to bring it "back up". */
export async function startReceiver(secret: string, port = 0): Promise<Receiver> {
  const received: Received[] = [];
  const scripts = new Map<string, Answer[]>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '/';
      const queue = scripts.get(path) ?? [200];
      const answer = queue.length > 1 ? queue.shift()! : queue[0]!;
      const verified = verifyWebhookDetailed(secret, req.headers, body);
      if (answer === 'hang') { received.push({ path, headers: req.headers, body, verified, status: 0 }); return; }
      const { status, headers } = typeof answer === 'number' ? { status: answer, headers: {} } : answer;
      received.push({ path, headers: req.headers, body, verified, status });
      res.writeHead(verified.ok ? status : 401, headers).end(verified.ok ? 'ok' : verified.reason);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    received,
    script: (path, answers) => { scripts.set(path, [...answers]); },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
