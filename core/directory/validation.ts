/**
 * Body validation driven by per-resource field tables. Each property is checked with its own
 * zod schema so error messages can name the property the way Graph does, without ever
 * echoing the submitted value (which may be a password).
 */
import { z } from 'zod';
import type { Json } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { badRequest } from './errors.js';
import type { GraphError, JsonObject, PropKind } from './types.js';

export interface FieldDef {
  /** Validates (and may normalise) a non-null value. */
  readonly schema: z.ZodType;
  readonly kind: PropKind;
  /** Must be present on create. */
  readonly required?: boolean;
  /** null is an accepted value (clears the property). */
  readonly nullable?: boolean;
  /** Server-assigned: any client value is rejected. */
  readonly readOnly?: boolean;
  /** Settable on create only (e.g. servicePrincipal.appId). */
  readonly createOnly?: boolean;
  /** Stored but never returned. */
  readonly hidden?: boolean;
  /** Stored when absent on create; otherwise null. */
  readonly default?: Json;
}

export type Fields = Readonly<Record<string, FieldDef>>;

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates a POST (`create`) or PATCH (`patch`) body; returns only the supplied properties. */
export function parseBody(
  fields: Fields,
  body: unknown,
  mode: 'create' | 'patch',
  entityName: string,
): Result<JsonObject, GraphError> {
  if (!isPlainObject(body)) return err(badRequest('A request body with a JSON object is required.'));
  const out: JsonObject = {};
  for (const [name, value] of Object.entries(body)) {
    const field = Object.hasOwn(fields, name) ? fields[name] : undefined;
    // Clients (and Graph SDKs) may echo the entity's own type annotation; it carries no data.
    if (name === '@odata.type' && field === undefined && value === `#microsoft.graph.${lcFirst(entityName)}`) continue;
    if (field === undefined) {
      return err(badRequest(`Property '${name}' does not exist on type 'microsoft.graph.${lcFirst(entityName)}'.`));
    }
    if (field.readOnly || (mode === 'patch' && field.createOnly)) {
      return err(badRequest(`Property '${name}' is read-only and cannot be set.`));
    }
    if (value === null) {
      if (!field.nullable) return err(invalidValue(name, entityName));
      out[name] = null;
      continue;
    }
    const parsed = field.schema.safeParse(value);
    if (!parsed.success) return err(invalidValue(name, entityName));
    out[name] = parsed.data as Json;
  }
  if (mode === 'create') {
    for (const [name, field] of Object.entries(fields)) {
      if (field.required && (out[name] === undefined || out[name] === null)) {
        return err(badRequest(`Property '${name}' is required when creating a ${entityName}.`));
      }
    }
  }
  return ok(out);
}

/** Fills every non-read-only property missing from `input` with its default (or null). */
export function withDefaults(fields: Fields, input: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [name, field] of Object.entries(fields)) {
    if (field.readOnly) continue;
    const v = input[name];
    if (v !== undefined) out[name] = v;
    else if (!field.hidden) out[name] = field.default === undefined ? null : structuredClone(field.default);
  }
  return out;
}

/** The visible property kinds of a field table (for $select / $filter validation). */
export function visibleProps(fields: Fields): Record<string, PropKind> {
  const out: Record<string, PropKind> = {};
  for (const [name, f] of Object.entries(fields)) if (!f.hidden) out[name] = f.kind;
  return out;
}

export const invalidValue = (name: string, entityName: string): GraphError =>
  badRequest(`Invalid value specified for property '${name}' of resource '${entityName}'.`);

const lcFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

// Reusable schemas.
export const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
export const guid = z.string().regex(GUID);
export const text = (max = 256) => z.string().max(max);
export const nonEmpty = (max = 256) => z.string().min(1).max(max);
export const strings = (max = 256) => z.array(z.string().min(1).max(max)).max(1000);
export const bool = z.boolean();
export const uri = z.string().min(1).max(1024).refine((s) => URL.canParse(s));
export const json = z.json();
