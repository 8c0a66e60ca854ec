import type { BrokenRule, RunResult } from './run.js';
import { runSchedule } from './run.js';

/**
 * Deterministic simulator (VOPR-style) for cell replication.
 *   tsx sim/main.ts --seeds 1000 [--from K]   explore seeds K..K+999 (default K=1)
 *   tsx sim/main.ts --seed N [--verbose]      replay one seed exactly (with its trace)
 *   --broken ack-before-durable|promote-least-up-to-date   run with a deliberately broken rule
 *   --active-ms N                              length of the fault phase (default 20000)
 *   --first-failure                            stop at the first failing seed (sim/mutants.ts)
 * Exits non-zero on any violation.
 */
function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

async function main(): Promise<void> {
  const broken = arg('broken') as BrokenRule | undefined;
  const activeMs = arg('active-ms') === undefined ? undefined : Number(arg('active-ms'));
  const verbose = process.argv.includes('--verbose');
  const one = arg('seed');
  if (one !== undefined) {
    const r = await runSchedule({ seed: Number(one), broken, trace: verbose, activeMs });
    if (verbose) for (const line of r.trace) console.log(line);
    console.log(summary([r], 0));
    for (const v of r.violations) console.log(`  ${v}`);
    process.exitCode = r.violations.length > 0 ? 1 : 0;
    return;
  }
  const count = Number(arg('seeds') ?? 100);
  const from = Number(arg('from') ?? 1);
  const firstFailure = process.argv.includes('--first-failure');
  const started = performance.now();
  const results: RunResult[] = [];
  const failing: RunResult[] = [];
  for (let s = from; s < from + count; s++) {
    const r = await runSchedule({ seed: s, broken, activeMs });
    results.push(r);
    if (r.violations.length > 0) {
      failing.push(r);
      console.log(`seed ${s}: ${r.violations.length} violation(s): ${r.violations[0]}`);
      if (firstFailure) {
        console.log(`first failing seed: ${s}`);
        break;
      }
    }
  }
  console.log(summary(results, performance.now() - started));
  if (failing.length > 0) console.log(`failing seeds: ${failing.map((r) => r.seed).join(' ')} (replay: tsx sim/main.ts --seed N --verbose${broken ? ` --broken ${broken}` : ''})`);
  process.exitCode = failing.length > 0 ? 1 : 0;
}

/**
 * Per unplanned failover, from the lost primary's last successful probe: to the promotion, to the
 * new primary having committed its adopted log (it can acknowledge), and to the first client
 * write sent to it being acknowledged (clients stuck on the old primary wait for their timeout).
 */
function recovery(rs: readonly RunResult[]): string {
  const all = rs.flatMap((r) => r.recoveries);
  const stats = (xs: number[]) => {
    if (xs.length === 0) return '-';
    const s = [...xs].sort((a, b) => a - b);
    const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
    return `${q(0.5)}/${q(0.99)}/${s[s.length - 1]} ms`;
  };
  const defined = (xs: Array<number | undefined>) => xs.flatMap((x) => (x === undefined ? [] : [x]));
  return (
    `loss→promoted ${stats(all.map((x) => x.promotedMs))} | loss→writable ${stats(defined(all.map((x) => x.writableMs)))} | ` +
    `loss→first client ack ${stats(defined(all.map((x) => x.firstAckMs)))} (p50/p99/max)`
  );
}

/** Group commit: writes per committed replication round (average and largest). */
function groups(rs: readonly RunResult[]): string {
  const rounds = rs.reduce((n, r) => n + r.groupRounds, 0);
  const writes = rs.reduce((n, r) => n + r.groupedWrites, 0);
  const largest = Math.max(0, ...rs.map((r) => r.largestGroup));
  return `write rounds ${rounds} (${rounds === 0 ? '-' : (writes / rounds).toFixed(2)} writes/round, max ${largest})`;
}

function summary(rs: readonly RunResult[], wallMs: number): string {
  const sum = (f: (r: RunResult) => number) => rs.reduce((n, r) => n + f(r), 0);
  const rate = wallMs > 0 ? ` | ${(rs.length / (wallMs / 1000)).toFixed(1)} schedules/s` : '';
  return (
    `schedules ${rs.length} | ops ${sum((r) => r.ops)} | writes ${sum((r) => r.writes)} (creates ${sum((r) => r.creates)}, ${sum((r) => r.exists)} refused as existing) | acknowledged ${sum((r) => r.acked)} | ` +
    `failed cleanly ${sum((r) => r.failedCleanly)} | ambiguous ${sum((r) => r.ambiguous)} (retries replayed ${sum((r) => r.replayed)}) | token reads ${sum((r) => r.reads)} | ` +
    `failovers ${sum((r) => r.failovers)} | handoffs ${sum((r) => r.handoffs)} | ` +
    `membership changes ${sum((r) => r.membershipChanges)}, regions lost for good ${sum((r) => r.regionsLost)} (failovers after ${sum((r) => r.failoversAfterRegionLost)}), failovers by a control copy with the control plane lost ${sum((r) => r.failoversByControlCopy)}, voters replaced ${sum((r) => r.replacements)} | ` +
    `losses not confirmed by a majority of observers ${sum((r) => r.notConfirmed)}, clean windows of a watcher alone cut from a healthy primary ${sum((r) => r.watcherCuts)} | ` +
    `${groups(rs)} | ${recovery(rs)} | ` +
    `lost ${sum((r) => r.lost)} | violations ${sum((r) => r.violations.length)}${rate}` +
    (rs.length === 1 ? ` | trace ${rs[0]!.traceHash} | events ${rs[0]!.events}` : '')
  );
}

await main();
