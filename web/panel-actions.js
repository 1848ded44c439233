// @ts-check
/** @file What the panel's buttons do: the AMI actions (Hangup, Originate, BlindTransfer, Park,
 * QueuePause) sent through the client, a small question dialog, and their outcome as a toast. */

import { h } from './panel-dom.js';

/**
 * The device to ring for an extension: its hint's first device, else `PJSIP/<exten>`.
 * @param {any} pbx
 * @param {string} exten
 * @returns {string}
 */
export function deviceOf(pbx, exten) {
  for (const e of pbx.extensions.values()) {
    if (e.exten === exten && e.hint) {
      const dev = String(e.hint).split('&')[0].trim();
      if (/^[A-Za-z0-9]+\/\S+$/.test(dev)) return dev;
    }
  }
  return `PJSIP/${exten}`;
}

/**
 * Asks one question in the page's dialog. Resolves with the answer, or null when cancelled.
 * @param {{title: string, label: string, value?: string, placeholder?: string, ok?: string}} q
 * @returns {Promise<string|null>}
 */
export function ask(q) {
  const dlg = /** @type {HTMLDialogElement} */ (document.getElementById('ask'));
  const form = /** @type {HTMLFormElement} */ (dlg.querySelector('form'));
  const input = /** @type {HTMLInputElement} */ (dlg.querySelector('input'));
  /** @type {HTMLElement} */ (dlg.querySelector('h2')).textContent = q.title;
  /** @type {HTMLElement} */ (dlg.querySelector('.ask-label')).textContent = q.label;
  /** @type {HTMLElement} */ (dlg.querySelector('button[value="ok"]')).textContent = q.ok ?? 'OK';
  input.value = q.value ?? '';
  input.placeholder = q.placeholder ?? '';
  return new Promise((resolve) => {
    const done = () => {
      dlg.removeEventListener('close', done);
      const v = input.value.trim();
      resolve(dlg.returnValue === 'ok' && v ? v : null);
    };
    dlg.addEventListener('close', done);
    form.onsubmit = () => undefined;
    dlg.returnValue = '';
    dlg.showModal();
    input.focus();
  });
}

/**
 * The actions, bound to a client and store.
 * @param {{send: (a: Record<string, string>, o?: any) => Promise<any>}} client
 * @param {any} pbx
 * @param {(text: string, tone?: string) => void} notify
 * @param {() => string} myExten the extension click-to-call rings first
 */
export function createActions(client, pbx, notify, myExten) {
  /**
   * Sends one action and reports how it went.
   * @param {Record<string, string>} action
   * @param {string} okText
   */
  async function run(action, okText) {
    try {
      await client.send(action, { timeout: 15000 });
      notify(okText, 'ok');
      return true;
    } catch (e) {
      const err = /** @type {any} */ (e);
      const msg = err?.response?.Message || err?.message || String(e);
      notify(`${action.Action} failed: ${msg}`, 'error');
      return false;
    }
  }

  return {
    /** @param {{name: string}} ch */
    hangup(ch) {
      return run({ Action: 'Hangup', Channel: ch.name }, `Hung up ${ch.name}`);
    },
    /**
     * Click-to-call: rings the user's own extension, then dials `exten` in `context`.
     * @param {string} exten @param {string} [context]
     */
    async dial(exten, context) {
      let from = myExten();
      if (!from) {
        from = (await ask({ title: 'Your extension', label: 'Ring which extension first?', placeholder: 'e.g. 100', ok: 'Use' })) ?? '';
        if (!from) return false;
      }
      return run({
        Action: 'Originate', Channel: deviceOf(pbx, from), Exten: exten, Context: context || 'default',
        Priority: '1', CallerID: `Operator <${from}>`, Timeout: '30000', Async: 'true',
      }, `Calling ${exten} from ${from}`);
    },
    /**
     * Blind transfer: `transferer` leaves, its peer `transferee` goes to the extension asked for.
     * @param {{name: string, context: string}} transferer @param {{name: string, callerIdNum?: string}} transferee
     */
    async transfer(transferer, transferee) {
      const to = await ask({ title: 'Blind transfer', label: `Transfer ${transferee.callerIdNum || transferee.name} to`, placeholder: 'extension', ok: 'Transfer' });
      if (!to) return false;
      return run({ Action: 'BlindTransfer', Channel: transferer.name, Exten: to, Context: transferer.context || 'default' },
        `Transferring to ${to}`);
    },
    /** @param {{name: string}} ch the channel to park @param {{name: string}} back who gets it on timeout */
    park(ch, back) {
      return run({ Action: 'Park', Channel: ch.name, TimeoutChannel: back.name }, `Parked ${ch.name}`);
    },
    /** @param {string} queue @param {string} iface @param {boolean} paused */
    queuePause(queue, iface, paused) {
      const a = { Action: 'QueuePause', Queue: queue, Interface: iface, Paused: paused ? 'true' : 'false' };
      if (paused) Object.assign(a, { Reason: 'Paused from the panel' });
      return run(a, `${paused ? 'Paused' : 'Unpaused'} ${iface} in ${queue}`);
    },
  };
}

/**
 * The toast area: short notices that fade after a few seconds (errors stay longer).
 * @param {HTMLElement} host
 * @returns {(text: string, tone?: string) => void}
 */
export function createToaster(host) {
  return (text, tone = 'info') => {
    const t = h('div', { class: `toast ${tone}`, role: tone === 'error' ? 'alert' : 'status', text });
    host.append(t);
    while (host.childElementCount > 4) host.firstElementChild?.remove();
    setTimeout(() => t.remove(), tone === 'error' ? 8000 : 3500);
  };
}
