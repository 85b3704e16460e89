/**
 * Keeps this process's directory in step with the store: loads every registered agent and block
 * at start (before the listeners open, so a block survives a restart from the first request),
 * then reads the store's agent-state revision every second and reloads when another process
 * sharing the store (`serve --workers`, a fleet) changed it. This process's own changes reach
 * its directory at once; other processes see them within SYNC_INTERVAL_MS.
 */
import type { AgentStore } from '../approvals/store/agent-store.js';
import { silentLogger, type Logger, type Timers } from '../shared/runtime.js';
import type { AgentDirectory } from './directory.js';

export const SYNC_INTERVAL_MS = 1000;

export interface SyncDeps {
  readonly store: Pick<AgentStore, 'loadAgentState' | 'agentStateRevision'>;
  readonly directory: AgentDirectory;
  readonly timers: Timers;
  readonly log?: Logger;
}

export class DirectorySync {
  private revision = -1;
  private timer: unknown;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly deps: SyncDeps) {}

  /** Loads the store's state; throws if the store cannot be read (the app must not start without its blocks). */
  async start(): Promise<void> {
    await this.load();
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.deps.timers.clearTimeout(this.timer);
    await this.running;
  }

  /** Another replica changed agents or blocks (a fleet notification): poll now, after any poll in progress. */
  nudge(): void {
    if (this.stopped) return;
    this.running = this.running.then(() => this.poll())
      .catch((err: unknown) => (this.deps.log ?? silentLogger).error({ err }, 'agent registry sync failed; will retry'));
  }

  /** One poll: reload if the revision moved. */
  async poll(): Promise<void> {
    if ((await this.deps.store.agentStateRevision()) !== this.revision) await this.load();
  }

  private async load(): Promise<void> {
    const d = this.deps.directory;
    const before = d.version;
    const state = await this.deps.store.loadAgentState();
    // A change made here while the snapshot was read is newer than the snapshot: keep it, and
    // reload at the next poll (the revision is left as it was).
    if (d.version !== before) return;
    d.replace(state);
    this.revision = state.revision;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.deps.timers.setTimeout(() => {
      this.running = this.poll()
        .catch((err: unknown) => (this.deps.log ?? silentLogger).error({ err }, 'agent registry sync failed; will retry'))
        .finally(() => this.schedule());
    }, SYNC_INTERVAL_MS);
  }
}
