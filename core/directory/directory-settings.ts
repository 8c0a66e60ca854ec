/**
 * Graph `/settings` (directorySetting): tenant-wide settings instantiated from a template,
 * `{id, displayName, templateId, values: [{name, value}]}`. One setting per template; values
 * are strings validated by the template (setting-templates.ts) and missing ones take the
 * template default. Stored at `t/{tid}/ds/{id}`; the token service reads the effective
 * "Password Rule Settings" through `passwordRuleValues` (defaults when none exists).
 */
import type { Json, Mutation, StateReader } from '../kv.js';
import { derived } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { asObject, checkIfMatch, etagOf, present, versionOf } from './etag.js';
import { badRequest, clip, invalidId, notFound } from './errors.js';
import { isValidId, settingKey, settingPrefix } from './keys.js';
import { applySelect, listBody, parseEntityQuery, parseListOptions, scanPage, type QueryShape } from './odata-query.js';
import { findTemplate, PASSWORD_RULE_TEMPLATE, SETTING_TEMPLATES, type SettingTemplate } from './setting-templates.js';
import { isPlainObject } from './validation.js';
import type { GraphContext, GraphError, GraphReply, GraphRequest, JsonObject, WritePlan } from './types.js';

const SHAPE: QueryShape = {
  entityName: 'directorySetting',
  odataType: 'microsoft.graph.directorySetting',
  properties: { id: 'string', displayName: 'string', templateId: 'string', values: 'complex' },
  filterable: { displayName: 'string', templateId: 'string' },
};
const WRITABLE = new Set(['templateId', 'values', 'displayName', '@odata.type']);

type Values = Record<string, string>;

/** Validates `[{name, value}]` against the template; names are matched case-insensitively. */
function parseValues(raw: unknown, template: SettingTemplate): Result<Values, GraphError> {
  if (!Array.isArray(raw)) return err(badRequest("Invalid value specified for property 'values' of resource 'DirectorySetting'."));
  const out: Values = {};
  for (const item of raw) {
    if (!isPlainObject(item) || typeof item['name'] !== 'string' || typeof item['value'] !== 'string' || Object.keys(item).some((k) => k !== 'name' && k !== 'value')) {
      return err(badRequest("Each entry of 'values' must be an object {name, value} with string members."));
    }
    const spec = template.values.find((v) => v.name.toLowerCase() === (item['name'] as string).toLowerCase());
    if (!spec) return err(badRequest(`Setting '${clip(item['name'])}' is not defined by template '${template.displayName}'.`));
    if (Object.hasOwn(out, spec.name)) return err(badRequest(`Setting '${spec.name}' was specified more than once.`));
    const value = spec.normalise(item['value']);
    if (value === undefined) return err(badRequest(`Invalid value found for setting '${spec.name}'.`));
    out[spec.name] = value;
  }
  return ok(out);
}

function rejectUnknown(body: Record<string, unknown>): Result<void, GraphError> {
  for (const k of Object.keys(body)) {
    if (!WRITABLE.has(k)) return err(badRequest(`Property '${clip(k)}' does not exist on type 'microsoft.graph.directorySetting'.`));
  }
  return ok(undefined);
}

const valuesList = (template: SettingTemplate, values: Values): Json =>
  template.values.map((v) => ({ name: v.name, value: values[v.name] ?? v.defaultValue }));

function storedValues(obj: JsonObject): Values {
  const out: Values = {};
  for (const item of Array.isArray(obj['values']) ? obj['values'] : []) {
    const o = asObject(item);
    if (typeof o?.['name'] === 'string' && typeof o['value'] === 'string') out[o['name']] = o['value'];
  }
  return out;
}

function findSetting(state: StateReader, tenantId: string, id: string): Result<JsonObject, GraphError> {
  if (!isValidId(id)) return err(invalidId(id));
  const obj = asObject(state.get(settingKey(tenantId, id)));
  return obj ? ok(obj) : err(notFound(id));
}

const view = (obj: JsonObject): JsonObject => present(obj, []);

export function listSettings(state: StateReader, req: GraphRequest, ctx: GraphContext): Result<GraphReply, GraphError> {
  const prefix = settingPrefix(ctx.tenantId);
  const opts = parseListOptions(req.query, SHAPE, prefix);
  if (!opts.ok) return opts;
  const page = scanPage(state, prefix, opts.value, (_k, v) => {
    const obj = asObject(v);
    return obj ? view(obj) : undefined;
  });
  return ok({ status: 200, body: listBody(req, 'settings', prefix, opts.value, page) });
}

export function getSetting(state: StateReader, req: GraphRequest, ctx: GraphContext, id: string): Result<GraphReply, GraphError> {
  const select = parseEntityQuery(req.query, SHAPE);
  if (!select.ok) return select;
  const found = findSetting(state, ctx.tenantId, id);
  if (!found.ok) return found;
  const body = applySelect({ '@odata.context': `${req.baseUrl}/$metadata#settings/$entity`, ...view(found.value) }, select.value);
  return ok({ status: 200, body, headers: { ETag: etagOf(found.value) } });
}

export function createSetting(state: StateReader, req: GraphRequest, ctx: GraphContext): Result<WritePlan, GraphError> {
  const body = req.body;
  if (!isPlainObject(body)) return err(badRequest('A request body with a JSON object is required.'));
  const unknown = rejectUnknown(body);
  if (!unknown.ok) return unknown;
  if (typeof body['templateId'] !== 'string') return err(badRequest("Property 'templateId' is required when creating a DirectorySetting."));
  const template = findTemplate(body['templateId']);
  if (!template) return err(badRequest(`Template '${clip(body['templateId'])}' does not exist or is not supported.`));
  const values = body['values'] === undefined ? ok<Values>({}) : parseValues(body['values'], template);
  if (!values.ok) return values;
  const prefix = settingPrefix(ctx.tenantId);
  if (state.list(prefix).some(([, v]) => asObject(v)?.['templateId'] === template.id)) {
    return err({ kind: 'conflict', message: `A setting for template '${template.displayName}' already exists in this tenant; update it instead.` });
  }
  const id = ctx.newId();
  if (!isValidId(id)) throw new Error('assertion failed: newId returned an invalid id');
  const stored: JsonObject = { id, displayName: template.displayName, templateId: template.id, values: valuesList(template, values.value), _v: 1 };
  return ok({
    mutations: [{ key: settingKey(ctx.tenantId, id), value: stored }],
    reply: {
      status: 201,
      body: { '@odata.context': `${req.baseUrl}/$metadata#settings/$entity`, ...view(stored) },
      headers: { Location: `${req.baseUrl}/settings/${id}`, ETag: etagOf(stored) },
    },
  });
}

export function patchSetting(state: StateReader, req: GraphRequest, ctx: GraphContext, id: string): Result<WritePlan, GraphError> {
  const found = findSetting(state, ctx.tenantId, id);
  if (!found.ok) return found;
  const current = found.value;
  const match = checkIfMatch(req.ifMatch, current);
  if (!match.ok) return match;
  const body = req.body;
  if (!isPlainObject(body)) return err(badRequest('A request body with a JSON object is required.'));
  const unknown = rejectUnknown(body);
  if (!unknown.ok) return unknown;
  if (body['templateId'] !== undefined && body['templateId'] !== current['templateId']) return err(badRequest("Property 'templateId' is read-only and cannot be set."));
  const template = findTemplate(String(current['templateId']));
  if (!template) return err(notFound(id));
  const changes = body['values'] === undefined ? ok<Values>({}) : parseValues(body['values'], template);
  if (!changes.ok) return changes;
  const next: JsonObject = { ...current, values: valuesList(template, { ...storedValues(current), ...changes.value }), _v: versionOf(current) + 1 };
  const mutations: Mutation[] = [{ key: settingKey(ctx.tenantId, id), value: next }];
  return ok({ mutations, reply: { status: 204, headers: { ETag: etagOf(next) } } });
}

export function deleteSetting(state: StateReader, req: GraphRequest, ctx: GraphContext, id: string): Result<WritePlan, GraphError> {
  const found = findSetting(state, ctx.tenantId, id);
  if (!found.ok) return found;
  const match = checkIfMatch(req.ifMatch, found.value);
  if (!match.ok) return match;
  return ok({ mutations: [{ key: settingKey(ctx.tenantId, id), value: null }], reply: { status: 204 } });
}

const templateView = (t: SettingTemplate): JsonObject => ({
  id: t.id, displayName: t.displayName, description: t.description,
  values: t.values.map((v) => ({ name: v.name, type: v.type, defaultValue: v.defaultValue, description: v.description })),
});

/** GET /directorySettingTemplates and /directorySettingTemplates/{id}: the templates `/settings` accepts. */
export function listSettingTemplates(_s: StateReader, req: GraphRequest): Result<GraphReply, GraphError> {
  return ok({ status: 200, body: { '@odata.context': `${req.baseUrl}/$metadata#directorySettingTemplates`, value: SETTING_TEMPLATES.map(templateView) } });
}

export function getSettingTemplate(_s: StateReader, req: GraphRequest, id: string): Result<GraphReply, GraphError> {
  const t = findTemplate(id);
  return t ? ok({ status: 200, body: { '@odata.context': `${req.baseUrl}/$metadata#directorySettingTemplates/$entity`, ...templateView(t) } }) : err(notFound(id));
}

/** The tenant's effective "Password Rule Settings" values (template defaults where unset). */
export function passwordRuleValues(state: StateReader, tenantId: string): Readonly<Values> {
  return derived(state, `password rule settings ${tenantId}`, () => {
    const stored = state.list(settingPrefix(tenantId)).map(([, v]) => asObject(v)).find((o) => o?.['templateId'] === PASSWORD_RULE_TEMPLATE.id);
    const values = stored ? storedValues(stored) : {};
    const out: Values = {};
    // Stored values are re-validated: anything malformed reads as the default, never a crash.
    for (const spec of PASSWORD_RULE_TEMPLATE.values) out[spec.name] = spec.normalise(values[spec.name] ?? spec.defaultValue) ?? spec.defaultValue;
    return out;
  });
}
