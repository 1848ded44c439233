// @ts-check
/** @file The login form: user, secret, plain or MD5 challenge login, and the server address
 * (defaults to this page's host); remembers all but the secret. */

const KEY = 'ami-panel.login';

/**
 * The default WebSocket address: the page's own host, `/ami`, `wss:` on an https page.
 * @param {Location} loc
 */
export function defaultUrl(loc) {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ami`;
}

/**
 * @typedef {{url: string, username: string, secret: string, auth: 'md5'|'plain'}} Credentials
 */

/**
 * Wires the form. `onLogin` gets the credentials and returns a promise; its rejection message is
 * shown under the form and the form is enabled again.
 * @param {HTMLFormElement} form
 * @param {(c: Credentials) => Promise<void>} onLogin
 */
export function setupLogin(form, onLogin) {
  const f = /** @type {Record<string, HTMLInputElement & HTMLSelectElement>} */ (/** @type {unknown} */ ({
    username: form.elements.namedItem('username'),
    secret: form.elements.namedItem('secret'),
    auth: form.elements.namedItem('auth'),
    url: form.elements.namedItem('url'),
  }));
  const err = /** @type {HTMLElement} */ (form.querySelector('.login-error'));
  const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'));
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem(KEY) || '{}'); } catch { saved = {}; }
  const s = /** @type {any} */ (saved);
  f.url.value = s.url || defaultUrl(location);
  if (s.username) f.username.value = s.username;
  if (s.auth === 'plain' || s.auth === 'md5') f.auth.value = s.auth;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    button.disabled = true;
    form.classList.add('busy');
    /** @type {Credentials} */
    const c = { url: f.url.value.trim() || defaultUrl(location), username: f.username.value.trim(),
      secret: f.secret.value, auth: f.auth.value === 'plain' ? 'plain' : 'md5' };
    try {
      localStorage.setItem(KEY, JSON.stringify({ url: c.url === defaultUrl(location) ? '' : c.url, username: c.username, auth: c.auth }));
    } catch { /* private mode: nothing remembered */ }
    try {
      await onLogin(c);
      f.secret.value = '';
    } catch (ex) {
      const x = /** @type {any} */ (ex);
      err.textContent = x?.code === 'auth' ? 'Wrong user name or secret.'
        : x?.code === 'network' ? `Cannot reach ${c.url}.` : (x?.message || String(ex));
    } finally {
      button.disabled = false;
      form.classList.remove('busy');
    }
  });
}
