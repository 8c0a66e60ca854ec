/**
 * A cell replica's side of learning (issue 14): artifacts of what the primary issued, and
 * "this tenant's feed moved" pokes, sent to the backup service in the background through the
 * `BACKUP` service binding. Never on the request path: jobs run after the reply (a zero-delay
 * timer), failures are logged once and dropped (the next issuance or the backup's periodic
 * resync repairs them), and one poke per tenant is in flight at a time.
 */
import { backupRegionOf } from '../core/backup-auth/keys.js';
import type { Artifact } from '../core/backup-auth/artifacts.js';
import { crossCall } from '../workers/platform/faults.js';
import type { BackupRpc } from './backup-protocol.js';

const CALL_TIMEOUT_MS = 5_000;
const afterReply = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** The backup service, unless none is bound or `BACKUP_AUTH=off` (the integration pool, which runs the main Worker alone). */
export function backupService(env: Env): BackupRpc | undefined {
  return env.BACKUP === undefined || env.BACKUP_AUTH === 'off' ? undefined : (env.BACKUP as unknown as BackupRpc);
}

export class BackupLearning {
  private readonly poking = new Set<string>();
  private readonly pokeAgain = new Set<string>();
  private warned = false;

  constructor(private readonly env: Env, private readonly ctx: DurableObjectState) {}

  get enabled(): boolean {
    return backupService(this.env) !== undefined;
  }

  private failed = (e: unknown): void => {
    if (this.warned) return;
    this.warned = true;
    console.warn('backup learning failed (sign-ins are unaffected):', e instanceof Error ? e.message : String(e));
  };

  learn(from: string, regions: readonly string[], job: () => Promise<Artifact | undefined>): void {
    const backup = backupService(this.env);
    if (backup === undefined) return;
    const to = backupRegionOf(regions);
    // Called once the primary's answer is decided (committed): learning lag runs from here.
    const issuedAt = Date.now();
    this.ctx.waitUntil(afterReply().then(job).then((a) => (a === undefined ? undefined : crossCall(from, to, CALL_TIMEOUT_MS, () => backup.learn(to, { ...a, issuedAt })))).catch(this.failed));
  }

  poke(from: string, regions: readonly string[], tenantId: string): void {
    const backup = backupService(this.env);
    if (backup === undefined) return;
    if (this.poking.has(tenantId)) {
      this.pokeAgain.add(tenantId);
      return;
    }
    this.poking.add(tenantId);
    const to = backupRegionOf(regions);
    const run = async (): Promise<void> => {
      try {
        do {
          this.pokeAgain.delete(tenantId);
          await afterReply();
          await crossCall(from, to, CALL_TIMEOUT_MS, () => backup.poke(to, tenantId));
        } while (this.pokeAgain.has(tenantId));
      } finally {
        this.poking.delete(tenantId);
        this.pokeAgain.delete(tenantId);
      }
    };
    this.ctx.waitUntil(run().catch(this.failed));
  }
}
