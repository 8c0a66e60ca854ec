/**
 * Graph reports answered at the edge from the regional outcome stores (issue 16):
 * `GET /beta/reports/sla/azureADAuthentication` and `GET /beta/reports/serviceActivity/getMetricsFor…(…)`,
 * plus the operator's `GET /admin/sla`. Every region's store is read; a report is only given
 * whole: a store that does not answer makes it 503 (a partial sum would misstate the SLA).
 */
import type { Classification } from '../core/directory/classify.js';
import { attainments, metricSeries, parseMetricQuery, type MonthRow } from '../core/outcomes/reports.js';
import { parseRegionList } from '../core/regions.js';
import { outcomeStoreStub, type RegionSla } from '../durable-objects/outcome-store.js';
import { isOperator } from './platform/auth.js';
import { oauthStyleError } from './platform/admin-errors.js';
import { crossCall } from './platform/faults.js';
import { graphError, json, requestInfo, type RequestInfo } from './platform/http.js';

const STORE_TIMEOUT_MS = 5_000;
const RETRY = { 'Retry-After': '2' };

/** Every region's answer, or the regions that did not answer. */
async function fromEveryRegion<T>(env: Env, read: (stub: ReturnType<typeof outcomeStoreStub>) => Promise<T>): Promise<{ values: T[]; missing: string[] }> {
  const regions = parseRegionList(env.REGIONS);
  const answers = await Promise.all(regions.map((r) => crossCall('edge', r, STORE_TIMEOUT_MS, () => read(outcomeStoreStub(env, r))).then((v) => ({ v }), () => undefined)));
  const values: T[] = [];
  const missing: string[] = [];
  answers.forEach((a, i) => (a === undefined ? missing.push(regions[i]!) : values.push(a.v)));
  return { values, missing };
}

const unavailable = (info: RequestInfo) => graphError(info, { kind: 'unavailable', message: 'Outcome counters of a region are unavailable. Retry after the interval given.' }, RETRY);

/** A classified Graph request whose route is served here (`c.edge`). */
export async function handleReport(info: RequestInfo, env: Env, tenantId: string, c: Classification, baseUrl: string): Promise<Response> {
  if (c.edge!.service === 'slaAttainment') {
    const { values, missing } = await fromEveryRegion(env, (s) => s.months(tenantId) as Promise<MonthRow[]>);
    if (missing.length > 0) return unavailable(info);
    return json({ '@odata.context': `${baseUrl}/$metadata#reports/sla/azureADAuthentication/$entity`, attainments: attainments(values.flat()) });
  }
  const q = parseMetricQuery(c.params['fn'] ?? '', info.now);
  if (!q.ok) {
    const e = q.error;
    return graphError(info, e.kind === 'unknown_function' ? { kind: 'bad_request', message: `Resource not found for the segment '${e.name.slice(0, 64)}'.`, code: 'BadRequest' } : { kind: 'bad_request', message: e.message, code: 'badRequest' });
  }
  const { values, missing } = await fromEveryRegion(env, (s) => s.buckets(tenantId, q.value.start - 5 * 60_000, q.value.end));
  if (missing.length > 0) return unavailable(info);
  return json({ '@odata.context': `${baseUrl}/$metadata#Collection(microsoft.graph.serviceActivityValueMetric)`, value: metricSeries(q.value, values.flat()) });
}

/** `GET /admin/sla`: every tenant's attainment per month, per region and overall. */
export async function adminSla(request: Request, env: Env): Promise<Response> {
  const info = requestInfo(request);
  if (!(await isOperator(request, env))) return oauthStyleError(info, 401, 'invalid_client', 'Operator credential missing or invalid.');
  const { values, missing } = await fromEveryRegion(env, (s) => s.allMonths() as Promise<RegionSla[]>);
  const rows = values.flat();
  const tenants = new Map<string, RegionSla[]>();
  for (const r of rows) tenants.set(r.tenantId, [...(tenants.get(r.tenantId) ?? []), r]);
  const regions = new Map<string, RegionSla[]>();
  for (const r of rows) regions.set(r.region, [...(regions.get(r.region) ?? []), r]);
  return json({
    unreachableRegions: missing,
    overall: attainments(rows),
    regions: [...regions].map(([region, rs]) => ({ region, attainments: attainments(rs) })),
    tenants: [...tenants].map(([tenantId, rs]) => ({
      tenantId,
      attainments: attainments(rs),
      regions: [...new Set(rs.map((r) => r.region))].map((region) => ({ region, attainments: attainments(rs.filter((r) => r.region === region)) })),
    })),
  }, 200, { 'cache-control': 'no-store' });
}
