/** A directory with its change feed, as the primary writes it, for the recovery tests. */
import { planWrite } from '../../../core/directory/index.js';
import { readFeed } from '../../../core/feed/cursor.js';
import { recorded, type FeedRecord } from '../../../core/feed/record.js';
import { copyPage, type CopyCursor, type ObjectRecord } from '../../../core/recovery/model.js';
import { Harness, type Body } from '../directory/harness.js';

export class FeedHarness extends Harness {
  /** Plans a Graph write with its feed record and applies it. */
  fw(method: string, path: string, body?: unknown): Body {
    const plan = recorded((s) => planWrite(s, this.req(method, path, body), this.ctx), { actor: { kind: 'operator' }, correlationId: 'c', now: this.now });
    const r = plan(this.state);
    if (!r.ok) throw new Error(`${method} ${path}: ${JSON.stringify(r.error)}`);
    this.state.apply(r.value.mutations);
    this.now += 1000;
    return (r.value.reply.body ?? {}) as Body;
  }

  records(after: number): FeedRecord[] {
    const out: FeedRecord[] = [];
    for (let pos = after; ; ) {
      const page = readFeed(this.state, this.tenantId, pos);
      if (page.kind !== 'page') throw new Error('feed expired');
      out.push(...page.records);
      if (!page.more) return out;
      pos = page.next;
    }
  }

  /** Every record of a copy, page by page (`between` runs after each page: writes during the copy). */
  copyAll(pageSize = 1000, between: () => void = () => {}): ObjectRecord[] {
    const out: ObjectRecord[] = [];
    for (let c: CopyCursor | null = { source: 0, after: null }; c !== null; ) {
      const page = copyPage(this.state, this.tenantId, c, pageSize);
      out.push(...page.records);
      c = page.next;
      between();
    }
    return out;
  }
}
