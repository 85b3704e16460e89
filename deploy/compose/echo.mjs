// The upstream of the local tour: answers every request with what reached it (method, path,
// the x-ascend-* headers the gateway added), so you see what an allowed request carries.
import { createServer } from 'node:http';

createServer((req, res) => {
  const ascend = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith('x-ascend-')));
  res.setHeader('content-type', 'application/json');
  res.end(`${JSON.stringify({ upstream: 'echo', method: req.method, path: req.url, ascend })}\n`);
}).listen(Number(process.env.PORT ?? 8080), () => console.log(`echo listening on :${process.env.PORT ?? 8080}`));
