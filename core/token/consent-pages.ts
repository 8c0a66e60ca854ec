/**
 * The consent pages, in the style of the sign-in pages (pages.ts): "Permissions requested"
 * with Accept / Cancel (and, for administrators, "Consent on behalf of your organization"),
 * and Entra's "Approval required" page when only an administrator can grant what is asked.
 */
import type { ListedScope } from './consent.js';
import { esc, hiddenFields, page, type FormPage } from './pages.js';

function scopeList(scopes: readonly ListedScope[]): string {
  if (scopes.length === 0) return '<p>This app already has the permissions it asks for. Accept to continue.</p>';
  const items = scopes.map((s) => `<li data-scope="${esc(s.value)}"${s.type === 'Admin' ? ' data-admin="true"' : ''}>${esc(s.description)}${s.description !== s.value ? ` <code>${esc(s.value)}</code>` : ''}${s.resourceName !== 'Microsoft Graph' ? ` (${esc(s.resourceName)})` : ''}</li>`);
  return `<ul id="scopes">${items.join('')}</ul>`;
}

export interface ConsentPage extends FormPage {
  appName: string;
  userName: string;
  scopes: readonly ListedScope[];
  /** 'choice': the admin may tick "on behalf of your organization"; 'always': the page is an organization-wide consent. */
  organization: 'none' | 'choice' | 'always';
}

export function consentPage(f: ConsentPage): string {
  const org = f.organization === 'choice'
    ? '<label><input type="checkbox" name="consent_org" value="true" style="width:auto"> Consent on behalf of your organization</label>'
    : f.organization === 'always' ? '<input type="hidden" name="consent_org" value="true"><p>Accepting grants these permissions to this app for every user in your organization.</p>' : '';
  return page('Permissions requested', `<p>${esc(f.appName)} (signed in as ${esc(f.userName)})</p>
<p>This app would like to:</p>
${scopeList(f.scopes)}${f.error ? `<p class="error" role="alert" id="error">${esc(f.error)}</p>` : ''}
<form method="post" action="${esc(f.action)}">
${hiddenFields({ ...f.hidden, stage: 'consent' })}
${org}
<p>Accepting these permissions means that you allow this app to use your data as specified. You can change these permissions later.</p>
<button type="submit" name="consent" value="accept" id="accept">Accept</button>
<button type="submit" name="consent" value="cancel" id="cancel">Cancel</button>
</form>`);
}

/** Entra's "Need admin approval" page (AADSTS90094): no form, nothing issued. */
export function approvalRequiredPage(appName: string, scopes: readonly ListedScope[]): string {
  return page('Approval required', `<p>${esc(appName)} needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.</p>
${scopeList(scopes)}
<p class="error" role="alert" id="error">AADSTS90094: The grant requires admin permission.</p>`);
}
