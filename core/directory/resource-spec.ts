/**
 * Builds a `ResourceSpec` from a field table, so each resource module only states its
 * properties and its few special rules (server-assigned values, derived defaults).
 */
import type { StateReader } from '../kv.js';
import { ok, type Result } from '../result.js';
import { parseBody, visibleProps, withDefaults, type Fields } from './validation.js';
import type { GraphContext, GraphError, JsonObject, PropKind, ResourceSpec, TypeName } from './types.js';

export interface SpecInput {
  readonly type: TypeName;
  readonly collection: string;
  readonly odataType: string;
  readonly entityName: string;
  readonly fields: Fields;
  readonly filterable: readonly string[];
  readonly unique?: readonly string[];
  /** Filter indexes kept with the object (property-index.ts). */
  readonly indexed?: readonly string[];
  /** Adds server-assigned / derived properties after validation and defaults. */
  readonly finish?: (obj: JsonObject, ctx: GraphContext, state: StateReader) => Result<JsonObject, GraphError>;
  /** Adjusts a validated PATCH (e.g. bump modifiedDateTime). */
  readonly finishPatch?: (changes: JsonObject, current: JsonObject, ctx: GraphContext) => Result<JsonObject, GraphError>;
}

export function defineResource(input: SpecInput): ResourceSpec {
  const properties: Record<string, PropKind> = { id: 'string', ...visibleProps(input.fields) };
  const filterable: Record<string, 'string' | 'boolean'> = {};
  for (const name of input.filterable) {
    const kind = properties[name];
    if (kind !== 'string' && kind !== 'boolean') throw new Error(`assertion failed: ${name} is not filterable`);
    filterable[name] = kind;
  }
  const hidden = Object.entries(input.fields)
    .filter(([, f]) => f.hidden)
    .map(([n]) => n);
  return {
    type: input.type,
    collection: input.collection,
    odataType: input.odataType,
    entityName: input.entityName,
    properties,
    filterable,
    unique: input.unique ?? [],
    indexed: input.indexed ?? [],
    hidden,
    create(body, ctx, state) {
      const parsed = parseBody(input.fields, body, 'create', input.entityName);
      if (!parsed.ok) return parsed;
      const obj = withDefaults(input.fields, parsed.value);
      return input.finish ? input.finish(obj, ctx, state) : ok(obj);
    },
    patch(body, current, ctx) {
      const parsed = parseBody(input.fields, body, 'patch', input.entityName);
      if (!parsed.ok) return parsed;
      return input.finishPatch ? input.finishPatch(parsed.value, current, ctx) : ok(parsed.value);
    },
  };
}

export const iso = (ms: number): string => new Date(ms).toISOString();

