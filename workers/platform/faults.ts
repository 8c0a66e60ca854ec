import type { CallVerdict, FaultPlan } from '../../core/faults.js';
import { judgeCall, NO_FAULTS } from '../../core/faults.js';

/**
 * The fault plan in force in this isolate. Fault injection is a development and test
 * facility (FAULTS_ENABLED): locally every Worker and Durable Object shares one isolate, so
 * one plan covers the whole service. In production the operator API refuses to set one.
 */
let plan: FaultPlan = NO_FAULTS;

export function currentFaults(): FaultPlan {
  return plan;
}

export function setFaults(next: FaultPlan): void {
  plan = next;
}

export class Unreachable extends Error {
  constructor(readonly reason: string) {
    super(`unreachable: ${reason}`);
  }
}

export function verdict(from: string, to: string): CallVerdict {
  return judgeCall(plan, from, to, Math.random());
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Makes a call from one region into another the way the network would: it may be refused
 * (region down, partition), slowed, or cut off by the timeout. Callers see an ordinary error.
 */
export async function crossCall<T>(from: string, to: string, timeoutMs: number, call: () => Promise<T>): Promise<T> {
  const v = verdict(from, to);
  if (v.kind === 'fail') throw new Unreachable(v.reason);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Unreachable('timeout')), timeoutMs);
  });
  try {
    return await Promise.race([(async () => {
      if (v.delayMs > 0) await sleep(v.delayMs);
      return call();
    })(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
