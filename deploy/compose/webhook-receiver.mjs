// The webhook receiver of the local tour: verifies each delivery's signature the way
// docs/webhooks.md describes (x-signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">,
// x-request-timestamp within 300 s) and prints the event. `docker compose logs -f webhook-receiver`.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const secret = process.env.ASCEND_WEBHOOK_SECRET ?? '';

/** The raw body, the timestamp and the signatures as sent; true when one signature matches. */
function verified(body, timestamp, signatures) {
  if (typeof timestamp !== 'string' || !/^\d+$/.test(timestamp) || typeof signatures !== 'string') return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const want = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest();
  return signatures.split(',').some((s) => {
    const v = s.trim();
    if (!v.startsWith('v1=')) return false;
    const got = Buffer.from(v.slice(3), 'hex');
    return got.length === want.length && timingSafeEqual(got, want);
  });
}

createServer((req, res) => {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    const body = Buffer.concat(parts).toString('utf8');
    if (!verified(body, req.headers['x-request-timestamp'], req.headers['x-signature'])) {
      console.log('refused: bad or missing signature');
      res.statusCode = 401;
      res.end();
      return;
    }
    const event = JSON.parse(body);
    console.log(`${event.event} ${event.id} ${JSON.stringify(event.data)}`);
    res.statusCode = 204;
    res.end();
  });
}).listen(Number(process.env.PORT ?? 9000), () => console.log(`webhook receiver listening on :${process.env.PORT ?? 9000}`));
