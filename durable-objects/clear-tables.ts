/**
 * Empties a per-tenant object for its tenant's deletion (durable-objects/tenant-purge.ts): its
 * alarm, then every row of its tables. The tables stay (the running instance's statements use
 * them); deleting rows that are already gone is harmless, so a repeated purge is too.
 */
export async function clearTables(ctx: DurableObjectState, tables: readonly string[]): Promise<void> {
  await ctx.storage.deleteAlarm();
  for (const t of tables) ctx.storage.sql.exec(`DELETE FROM ${t}`);
}
