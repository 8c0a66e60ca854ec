/**
 * The sign-in pages: plain, accessible HTML forms that work without JavaScript. Every
 * interpolated value is escaped; flow parameters travel in hidden fields and are
 * re-validated on every POST.
 */
export const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}label{display:block;margin-top:1rem}input{width:100%;padding:.5rem;font-size:1rem}button{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem}.error{color:#a80000;border-left:4px solid #a80000;padding-left:.5rem}code{word-break:break-all}</style>
</head><body><main>
<h1>${esc(title)}</h1>
${body}
</main></body></html>`;
}

export const hiddenFields = (hidden: Record<string, string | undefined>) =>
  Object.entries(hidden).filter(([, v]) => v !== undefined).map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v!)}">`).join('\n');

const errorBlock = (error?: string) => (error ? `<p class="error" role="alert" id="error">${esc(error)}</p>` : '');

export interface FormPage {
  action: string;
  hidden: Record<string, string | undefined>;
  error?: string;
}

export function passwordPage(f: FormPage & { appName: string; username?: string; askUserCode?: boolean; userCode?: string }): string {
  const { user_code: carried, ...hidden } = f.hidden;
  const userCode = f.askUserCode
    ? `<label for="user_code">Code shown on your device</label><input id="user_code" name="user_code" autocomplete="off" required value="${esc(f.userCode ?? carried ?? '')}">`
    : '';
  return page('Sign in', `<p>to continue to ${esc(f.appName)}</p>${errorBlock(f.error)}
<form method="post" action="${esc(f.action)}">
${hiddenFields({ ...(f.askUserCode ? hidden : f.hidden), stage: 'password' })}
${userCode}
<label for="username">Email or username</label><input id="username" name="username" type="email" autocomplete="username" required value="${esc(f.username ?? '')}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`);
}

export function totpPage(f: FormPage & { enroll?: { otpauthUri: string; secret: string } }): string {
  const enroll = f.enroll
    ? `<p>Your organization requires an authenticator app. Add this account to your app, then enter the code it shows.</p>
<p>Setup key: <code id="totp-secret">${esc(f.enroll.secret)}</code></p>
<p>Or open this link on your phone: <a id="otpauth-uri" href="${esc(f.enroll.otpauthUri)}">${esc(f.enroll.otpauthUri)}</a></p>`
    : '<p>Enter the code from your authenticator app.</p>';
  return page('Verify your identity', `${enroll}${errorBlock(f.error)}
<form method="post" action="${esc(f.action)}">
${hiddenFields({ ...f.hidden, stage: 'totp' })}
<label for="otp">Code</label><input id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,8}" required>
<button type="submit">Verify</button>
</form>`);
}

export function messagePage(title: string, text: string): string {
  return page(title, `<p>${esc(text)}</p>`);
}

/** response_mode=form_post: an auto-submitting form, with a button for browsers without JS. */
export function formPostPage(redirectUri: string, fields: Record<string, string>): string {
  return page('Continue', `<form method="post" action="${esc(redirectUri)}">${hiddenFields(fields)}<button type="submit">Continue</button></form>`);
}
