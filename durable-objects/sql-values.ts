/** Durable Object SQLite binds at most 100 parameters per statement. */
export const MAX_PARAMS = 100;

/**
 * `{head} VALUES (…), (…)` over flat `params`, `width` per row, in as few statements as the
 * parameter bound allows: one statement per row cost more than the rows (the replica store's
 * writes, the target index's catch-up).
 */
export function insertValues(sql: SqlStorage, head: string, width: number, params: readonly SqlStorageValue[]): void {
  const perStatement = Math.floor(MAX_PARAMS / width) * width;
  const tuple = `(${new Array<string>(width).fill('?').join(', ')})`;
  for (let k = 0; k < params.length; k += perStatement) {
    const part = params.slice(k, k + perStatement);
    sql.exec(`${head} VALUES ${new Array<string>(part.length / width).fill(tuple).join(', ')}`, ...part);
  }
}
