/** The `group` resource (properties only; membership lives in memberships.ts). */
import { z } from 'zod';
import { ok } from '../result.js';
import { defineResource, iso } from './resource-spec.js';
import { bool, nonEmpty, text, type Fields } from './validation.js';

const fields: Fields = {
  createdDateTime: { schema: text(), kind: 'string', readOnly: true },
  displayName: { schema: nonEmpty(256), kind: 'string', required: true },
  description: { schema: text(1024), kind: 'string', nullable: true },
  mailEnabled: { schema: bool, kind: 'boolean', default: false },
  mailNickname: { schema: z.string().min(1).max(64).regex(/^[\x21-\x7e]+$/), kind: 'string', nullable: true },
  securityEnabled: { schema: bool, kind: 'boolean', default: true },
  groupTypes: { schema: z.array(z.enum(['Unified', 'DynamicMembership'])).max(2), kind: 'complex', default: [] },
  mail: { schema: text(), kind: 'string', nullable: true },
  visibility: { schema: z.enum(['Public', 'Private', 'HiddenMembership']), kind: 'string', nullable: true },
};

export const groupSpec = defineResource({
  type: 'group',
  collection: 'groups',
  odataType: 'microsoft.graph.group',
  entityName: 'Group',
  fields,
  filterable: ['id', 'displayName', 'mail', 'mailNickname', 'mailEnabled', 'securityEnabled', 'description'],
  indexed: ['displayName', 'mail'],
  finish: (obj, ctx) => ok({ ...obj, createdDateTime: iso(ctx.now) }),
});
