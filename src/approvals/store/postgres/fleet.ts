/**
 * How the replicas on one PostgreSQL store hear each other, and which one runs the approval
 * scheduler.
 *
 * Notifications: the store's transactions NOTIFY one channel per schema when they change
 * something another replica caches or waits for (an action's status, the agent registry and
 * kill switch, a deadline, the API-made webhooks and A/B tests). NOTIFY is delivered at commit, so a replica
 * never hears of a change it cannot read yet. Each process LISTENs on one dedicated connection
 * (not from the pool: a LISTEN must stay on its session) and hands each notification to its
 * subscribers; its own notifications are skipped by their instance id.
 *
 * Leadership: the same connection tries a session advisory lock keyed by the schema every
 * LEADER_RETRY_MS. The holder is the leader; when it dies its session ends, the lock is freed and
 * another replica takes it at its next try. Leadership only saves work: every write the
 * scheduler makes is a versioned transition, so two schedulers at once (a partition, a slow
 * failover) conflict harmlessly instead of deciding twice.
 *
 * When the connection fails, `live` is false (subscribers fall back to polling), leadership is
 * dropped, and the connection is reopened with exponential backoff (250 ms … 10 s).
 */
import pg from 'pg';
import { silentLogger, type Logger } from '../../../shared/runtime.js';

/** Every kind of fleet event, in the order a reconnect re-emits them (action last). */
const FLEET_KINDS = ['agents', 'deadline', 'webhooks', 'ab_tests', 'action'] as const;
export type FleetEventKind = (typeof FLEET_KINDS)[number];
const KNOWN_KINDS: ReadonlySet<string> = new Set(FLEET_KINDS);

export interface FleetEvent {
  readonly kind: FleetEventKind;
  /**
   * action: the action id; deadline: the fingerprint of the approval whose deadline appeared or
   * moved (a new approval, a transition). '' for any (after a reconnect, from an older build).
   */
  readonly id: string;
}

export const LEADER_RETRY_MS = 1000;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 10_000;

/** The channel of a schema (≤ 63 bytes, as PostgreSQL identifiers). */
export function fleetChannel(schema: string): string {
  return `ascend_${schema}`.slice(0, 63);
}

/** The text a store's transaction passes to pg_notify. */
export function fleetPayload(instanceId: string, kind: FleetEventKind, id = ''): string {
  return `${instanceId}|${kind}|${id}`;
}

export interface FleetOptions {
  readonly url: string;
  readonly schema: string;
  /** This process's id, as the store stamps its notifications with. */
  readonly instanceId: string;
  readonly log?: Logger;
  readonly leaderRetryMs?: number;
}

export class Fleet {
  private client: pg.Client | undefined;
  private stopped = true;
  private backoff = BACKOFF_MIN_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private leaderTimer: NodeJS.Timeout | undefined;
  private isLeader = false;
  private readonly subscribers = new Set<(e: FleetEvent) => void>();
  private readonly leadershipWatchers = new Set<(leader: boolean) => void>();
  private readonly log: Logger;
  private readonly channel: string;
  private readonly lockKey: string;

  constructor(private readonly o: FleetOptions) {
    this.log = o.log ?? silentLogger;
    this.channel = fleetChannel(o.schema);
    this.lockKey = `ascend:${o.schema}:scheduler`;
  }

  /** Whether notifications are arriving (the LISTEN connection is up). */
  get live(): boolean {
    return this.client !== undefined;
  }

  /** Whether this process holds the scheduler lock. */
  get leader(): boolean {
    return this.isLeader;
  }

  subscribe(fn: (e: FleetEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => { this.subscribers.delete(fn); };
  }

  /** Told at every change of leadership (and at once with the current state). */
  onLeadership(fn: (leader: boolean) => void): () => void {
    this.leadershipWatchers.add(fn);
    fn(this.isLeader);
    return () => { this.leadershipWatchers.delete(fn); };
  }

  /** Connects in the background; never rejects (a failure is retried with backoff). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.leaderTimer);
    const c = this.client;
    this.client = undefined;
    this.setLeader(false);
    // Ending the session frees the leadership lock for another replica at once.
    await c?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const c = new pg.Client({ connectionString: this.o.url, application_name: 'ascend-sidecar fleet', connectionTimeoutMillis: 5000, keepAlive: true });
    c.on('error', (err) => this.lost(c, err));
    c.on('end', () => this.lost(c, new Error('connection ended')));
    c.on('notification', (n) => { if (n.channel === this.channel) this.dispatch(n.payload ?? ''); });
    try {
      await c.connect();
      await c.query(`LISTEN "${this.channel}"`);
    } catch (err) {
      this.lost(c, err as Error);
      return;
    }
    if (this.stopped) { await c.end().catch(() => undefined); return; }
    this.client = c;
    this.backoff = BACKOFF_MIN_MS;
    this.log.info({ channel: this.channel }, 'fleet: listening for other replicas');
    // Whatever happened while we could not hear it: let every subscriber re-read.
    for (const kind of FLEET_KINDS) this.emit({ kind, id: '' });
    void this.tryLead();
  }

  private lost(c: pg.Client, err: Error): void {
    if (this.client !== c && this.client !== undefined) return; // an old connection
    const wasLive = this.client === c;
    this.client = undefined;
    this.setLeader(false);
    clearTimeout(this.leaderTimer);
    c.removeAllListeners('end');
    c.end().catch(() => undefined);
    if (this.stopped) return;
    if (wasLive) this.log.warn({ err }, 'fleet: lost the notification connection; polling until it is back');
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect(), this.backoff);
    this.reconnectTimer.unref?.();
    this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
  }

  private async tryLead(): Promise<void> {
    const c = this.client;
    if (!c || this.stopped) return;
    if (!this.isLeader) {
      try {
        const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [this.lockKey]);
        if (this.client === c && r.rows[0]?.ok) this.setLeader(true);
      } catch { /* the connection's error handler reconnects */ }
    }
    if (this.client !== c || this.stopped) return;
    this.leaderTimer = setTimeout(() => void this.tryLead(), this.o.leaderRetryMs ?? LEADER_RETRY_MS);
    this.leaderTimer.unref?.();
  }

  private setLeader(leader: boolean): void {
    if (leader === this.isLeader) return;
    this.isLeader = leader;
    this.log.info({ leader }, leader ? 'fleet: this replica runs the approval scheduler' : 'fleet: no longer the scheduler leader');
    for (const w of [...this.leadershipWatchers]) w(leader);
  }

  private dispatch(payload: string): void {
    // The id is the rest, '|' and all: a fingerprint may be a caller's own key.
    const [from, kind] = payload.split('|', 2);
    const id = from === undefined || kind === undefined ? '' : payload.slice(from.length + kind.length + 2);
    if (from === this.o.instanceId) return;
    if (kind === undefined || !KNOWN_KINDS.has(kind)) return;
    this.emit({ kind: kind as FleetEventKind, id });
  }

  private emit(e: FleetEvent): void {
    for (const fn of [...this.subscribers]) {
      try { fn(e); } catch (err) { this.log.error({ err }, 'fleet: a subscriber failed'); }
    }
  }
}
