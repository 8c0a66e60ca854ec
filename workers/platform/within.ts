/**
 * Rejects if `p` has not settled within `ms` (its timer cleared either way): a bound on a call to
 * an object that has no region in the fault model (crossCall bounds the others).
 */
export function withinMs<T>(ms: number, p: Promise<T>, what = 'call'): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
