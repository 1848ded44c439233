// @ts-check
/** @file The operator panel's entry: login, then the client (`ami-ws.js`) and the live store
 * (`pbx-state.js`) feed the panel (`panel-app.js`). Exposes `window.amiPanel` for tests. */

import { connect } from './ami-ws.js';
import { PbxState } from './pbx-state.js';
import { setupLogin } from './panel-login.js';
import { mountApp } from './panel-app.js';

/** @type {{client: any, pbx: any, app: any} | null} */
let session = null;

async function logout() {
  if (!session) return;
  const s = session;
  session = null;
  s.app.destroy();
  s.pbx.stop();
  s.client.close();
  location.reload();
}

const form = /** @type {HTMLFormElement} */ (document.getElementById('login'));
setupLogin(form, async (c) => {
  const client = await connect({ url: c.url, username: c.username, secret: c.secret, auth: c.auth });
  const pbx = new PbxState(client);
  try {
    await pbx.start();
  } catch (e) {
    client.close();
    throw e;
  }
  const app = mountApp(document, { client, pbx, username: c.username });
  session = { client, pbx, app };
  /** @type {any} */ (window).amiPanel = session;
});
document.getElementById('logout')?.addEventListener('click', logout);
