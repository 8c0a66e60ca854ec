import type { Replica } from '../core/replication/replica.js';
import { tokenTenantIds } from '../core/token/token-keys.js';
import { rollRegionalKeys } from './mi-glue.js';
import type { TokenGlue } from './token-glue.js';

const ROTATION_EVERY_MS = 86_400_000;
const NEXT_ROTATION = 'nextRotationAt';

/**
 * The primary's daily rotation of every tenant's signing keys and the regional managed-identity
 * keys, due at a time kept in the object's storage (not the replicated log: only the primary
 * rotates, and a promoted replica starts the schedule from its first alarm as primary).
 */
export class KeyRotation {
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly tokens: TokenGlue,
  ) {}

  /** Starts the daily schedule unless one runs (after the first committed write). */
  async schedule(): Promise<void> {
    if ((await this.storage.get<number>(NEXT_ROTATION)) !== undefined) return;
    const at = Date.now() + ROTATION_EVERY_MS;
    await this.storage.put(NEXT_ROTATION, at);
    await this.alarmBy(at);
  }

  /** From the alarm: rotates when due, then keeps the alarm no later than the next rotation. */
  async rotateIfDue(replica: Replica): Promise<void> {
    const due = await this.storage.get<number>(NEXT_ROTATION);
    if (due === undefined) return this.schedule();
    if (due <= Date.now()) {
      const failed = (what: string) => (e: unknown) => console.error(`${what} failed`, e instanceof Error ? e.message : String(e));
      await this.tokens.rotateAll(replica).catch(failed('key rotation'));
      await this.tokens.kekKey().then((kek) => rollRegionalKeys(replica, kek, tokenTenantIds(replica.state))).catch(failed('regional key roll'));
      await this.storage.put(NEXT_ROTATION, Date.now() + ROTATION_EVERY_MS);
    }
    await this.alarmBy((await this.storage.get<number>(NEXT_ROTATION))!);
  }

  private async alarmBy(at: number): Promise<void> {
    const current = await this.storage.getAlarm();
    if (current === null || current > at) await this.storage.setAlarm(at);
  }
}
