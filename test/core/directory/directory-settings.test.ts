import { describe, expect, it } from 'vitest';
import { passwordRuleValues } from '../../../core/directory/directory-settings.js';
import { PASSWORD_RULE_TEMPLATE_ID } from '../../../core/directory/setting-templates.js';
import { BASE, Harness } from './harness.js';

const create = (h: Harness, values: Array<{ name: string; value: string }> = []) => h.write('POST', '/settings', { templateId: PASSWORD_RULE_TEMPLATE_ID, values });

describe('directorySetting: POST /settings', () => {
  it('creates "Password Rule Settings" with template defaults for unset values', () => {
    const h = new Harness();
    const r = create(h, [{ name: 'LockoutThreshold', value: '3' }]);
    expect(r.reply?.status).toBe(201);
    const body = r.reply!.body as Record<string, unknown>;
    expect(body['@odata.context']).toBe(`${BASE}/$metadata#settings/$entity`);
    expect(body['displayName']).toBe('Password Rule Settings');
    expect(body['templateId']).toBe(PASSWORD_RULE_TEMPLATE_ID);
    const values = body['values'] as Array<{ name: string; value: string }>;
    expect(values).toContainEqual({ name: 'LockoutThreshold', value: '3' });
    expect(values).toContainEqual({ name: 'LockoutDurationInSeconds', value: '60' });
    expect(values).toContainEqual({ name: 'EnableBannedPasswordCheck', value: 'True' });
    expect(r.mutations.map((m) => m.key)).toEqual([`t/${h.tenantId}/ds/${String(body['id'])}`]);
  });

  it('refuses unknown templates, unknown or repeated names, bad values, unknown properties, and a second setting of a template', () => {
    const h = new Harness();
    const bad = (body: unknown) => h.write('POST', '/settings', body).error;
    expect(bad({ templateId: '00000000-0000-0000-0000-000000000000' })).toMatchObject({ kind: 'bad_request' });
    expect(bad({})).toMatchObject({ kind: 'bad_request' });
    expect(bad([])).toMatchObject({ kind: 'bad_request' });
    expect(bad({ templateId: PASSWORD_RULE_TEMPLATE_ID, values: [{ name: 'Nope', value: '1' }] })?.message).toContain("'Nope'");
    expect(bad({ templateId: PASSWORD_RULE_TEMPLATE_ID, values: [{ name: 'LockoutThreshold', value: '0' }] })?.message).toContain('LockoutThreshold');
    expect(bad({ templateId: PASSWORD_RULE_TEMPLATE_ID, values: [{ name: 'LockoutThreshold', value: 10 }] })).toMatchObject({ kind: 'bad_request' });
    expect(bad({ templateId: PASSWORD_RULE_TEMPLATE_ID, values: [{ name: 'LockoutDurationInSeconds', value: '1' }] })).toMatchObject({ kind: 'bad_request' });
    expect(bad({ templateId: PASSWORD_RULE_TEMPLATE_ID, values: [{ name: 'EnableBannedPasswordCheck', value: 'maybe' }] })).toMatchObject({ kind: 'bad_request' });
    expect(bad({ templateId: PASSWORD_RULE_TEMPLATE_ID, values: [{ name: 'BannedPasswordList', value: 'abc' }] })).toMatchObject({ kind: 'bad_request' });
    expect(bad({ templateId: PASSWORD_RULE_TEMPLATE_ID, values: [{ name: 'LockoutThreshold', value: '5' }, { name: 'lockoutthreshold', value: '6' }] })).toMatchObject({ kind: 'bad_request' });
    expect(bad({ templateId: PASSWORD_RULE_TEMPLATE_ID, color: 'red' })?.message).toContain("'color'");
    expect(h.state.rows.size).toBe(0);
    expect(create(h).reply?.status).toBe(201);
    expect(create(h).error?.kind).toBe('conflict');
  });
});

describe('directorySetting: GET, PATCH, DELETE /settings/{id}', () => {
  it('lists, reads, merges a PATCH by name, and deletes back to the defaults', () => {
    const h = new Harness();
    const id = String((create(h).reply!.body as Record<string, unknown>)['id']);
    const list = h.getOk('/settings');
    expect((list['value'] as unknown[]).length).toBe(1);
    expect(h.getOk(`/settings/${id}`)['templateId']).toBe(PASSWORD_RULE_TEMPLATE_ID);
    expect(h.write('PATCH', `/settings/${id}`, { values: [{ name: 'LockoutThreshold', value: '4' }] }).reply?.status).toBe(204);
    expect(h.write('PATCH', `/settings/${id}`, { values: [{ name: 'LockoutDurationInSeconds', value: '120' }] }).reply?.status).toBe(204);
    expect(passwordRuleValues(h.state, h.tenantId)).toMatchObject({ LockoutThreshold: '4', LockoutDurationInSeconds: '120' });
    expect(h.write('PATCH', `/settings/${id}`, { values: [{ name: 'LockoutThreshold', value: 'ten' }] }).error?.kind).toBe('bad_request');
    expect(h.write('PATCH', `/settings/${id}`, { templateId: '62375ab9-6b52-47ed-826b-58e47e0e304b' }).error?.kind).toBe('bad_request');
    expect(h.write('PATCH', `/settings/${id}`, { values: [] }, { ifMatch: 'W/"1"' }).error?.kind).toBe('precondition_failed');
    expect(h.write('DELETE', `/settings/${id}`).reply?.status).toBe(204);
    expect(h.get(`/settings/${id}`).error?.kind).toBe('not_found');
    expect(h.get('/settings/not a guid').error?.kind).toBe('bad_request');
    expect(passwordRuleValues(h.state, h.tenantId)).toMatchObject({ LockoutThreshold: '10', LockoutDurationInSeconds: '60' });
  });
});

describe('directorySettingTemplate: GET /directorySettingTemplates', () => {
  it('lists the supported template with its values and defaults, and finds it by id', () => {
    const h = new Harness();
    const list = h.getOk('/directorySettingTemplates')['value'] as Array<Record<string, unknown>>;
    expect(list.map((t) => t['displayName'])).toEqual(['Password Rule Settings']);
    const one = h.getOk(`/directorySettingTemplates/${PASSWORD_RULE_TEMPLATE_ID}`);
    expect(one['values']).toContainEqual(expect.objectContaining({ name: 'LockoutThreshold', type: 'System.Int32', defaultValue: '10' }));
    expect(h.get('/directorySettingTemplates/00000000-0000-0000-0000-000000000000').error?.kind).toBe('not_found');
  });
});
