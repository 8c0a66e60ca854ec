import { describe, expect, it } from 'vitest';
import { call } from './helpers.js';
import { newTokenTenant } from './token-helpers.js';

interface Cell {
  replicas: Array<{ region: string; role?: string; appliedPos?: number }>;
}

async function positions(cell: string): Promise<Cell['replicas']> {
  return ((await (await call('GET', `/admin/cells/${cell}`)).json()) as Cell).replicas;
}

describe('CellReplica commit duties', () => {
  it('ships a token-service write to every region without waiting for another Graph write', async () => {
    const t = await newTokenTenant();
    // A key rotation is committed by the token service on the primary, not by the Graph path.
    expect((await call('POST', `/admin/tenants/${t.tenantId}/keys/rotate`)).status).toBe(200);
    const target = (await positions(t.cell)).find((r) => r.role === 'primary')!.appliedPos!;
    let replicas = await positions(t.cell);
    // Background pushes may still be in flight: poll, bounded, for every replica to apply it.
    for (let i = 0; i < 100 && replicas.some((r) => (r.appliedPos ?? 0) < target); i++) {
      await new Promise((r) => setTimeout(r, 20));
      replicas = await positions(t.cell);
    }
    for (const r of replicas) expect({ region: r.region, appliedPos: r.appliedPos }).toEqual({ region: r.region, appliedPos: target });
  });
});
