/**
 * Graph beta health monitoring, answered at the edge by the tenant's HealthMonitor object:
 * `reports/healthMonitoring/alerts[/{id}]` (GET, PATCH to resolve) and
 * `reports/healthMonitoring/alertConfigurations[/{alertType}]` (GET, PATCH thresholds).
 */
import type { Classification } from '../core/directory/classify.js';
import { alertJson, configJson, wantsUnknownMembers, type StoredAlert } from '../core/health/alerts.js';
import { ALERT_TYPES, GRAPH_ALERT_TYPES, isAlertType, type MonitorConfig } from '../core/health/monitors.js';
import type { Result } from '../core/result.js';
import { healthMonitorStub } from '../durable-objects/health-monitor.js';
import { graphError, json, readJsonBody, type RequestInfo } from './platform/http.js';


export async function handleHealth(request: Request, info: RequestInfo, env: Env, tenantId: string, c: Classification, origin: string): Promise<Response> {
  const monitor = healthMonitorStub(env, tenantId);
  const unknown = wantsUnknownMembers(request.headers.get('prefer'));
  const base = { 'request-id': info.requestId, 'client-request-id': info.clientRequestId, ...(unknown ? { 'Preference-Applied': 'include-unknown-enum-members' } : {}) };
  const ctx = `${origin}/beta/$metadata#reports/healthMonitoring`;
  const notFound = (what: string) => graphError(info, { kind: 'not_found', message: `Resource '${what.slice(0, 64)}' does not exist or one of its queried reference-property objects are not present.` });
  const body = async (): Promise<{ ok: true; body: unknown } | Response> => {
    const b = await readJsonBody(request);
    return b.ok ? b : graphError(info, b.error);
  };
  switch (c.edge!.service) {
    case 'healthAlerts': {
      const alerts = (await monitor.alerts()) as StoredAlert[];
      return json({ '@odata.context': `${ctx}/alerts`, value: alerts.map((a) => alertJson(a, origin, unknown)) }, 200, base);
    }
    case 'healthAlert': {
      const id = c.params['id'] ?? '';
      if (c.method === 'GET') {
        const a = (await monitor.alert(id)) as StoredAlert | null;
        return a === null ? notFound(id) : json({ '@odata.context': `${ctx}/alerts/$entity`, ...alertJson(a, origin, unknown) }, 200, base);
      }
      const b = await body();
      if (b instanceof Response) return b;
      const r = (await monitor.updateAlert(id, b.body)) as StoredAlert | null | string;
      if (typeof r === 'string') return graphError(info, { kind: 'bad_request', message: r, code: 'badRequest' });
      return r === null ? notFound(id) : new Response(null, { status: 204, headers: base });
    }
    case 'healthAlertConfigs': {
      const types = ALERT_TYPES.filter((t) => unknown || (GRAPH_ALERT_TYPES as readonly string[]).includes(t));
      const configs = await Promise.all(types.map(async (t) => configJson(t, (await monitor.config(t)) as MonitorConfig)));
      return json({ '@odata.context': `${ctx}/alertConfigurations`, value: configs }, 200, base);
    }
    default: {
      const type = c.params['alertType'] ?? '';
      if (!isAlertType(type)) return notFound(type);
      if (c.method === 'GET') return json({ '@odata.context': `${ctx}/alertConfigurations/$entity`, ...configJson(type, (await monitor.config(type)) as MonitorConfig) }, 200, base);
      const b = await body();
      if (b instanceof Response) return b;
      const r = (await monitor.updateConfig(type, b.body)) as Result<MonitorConfig, string>;
      return r.ok ? new Response(null, { status: 204, headers: base }) : graphError(info, { kind: 'bad_request', message: r.error, code: 'badRequest' });
    }
  }
}
