// @ts-check
/** @file The connection indicator and the notice that says when events were lost and the panel
 * re-synced (from the client's `state`, `lost` and `reconnected` notifications and the store's
 * `snapshot`). */

import { h, setText } from './panel-dom.js';

/** The pill text and tone for each client state. */
const STATES = /** @type {Record<string, [string, string]>} */ ({
  connecting: ['Connecting…', 'warn'],
  open: ['Live', 'ok'],
  reconnecting: ['Reconnecting…', 'warn'],
  closed: ['Offline', 'bad'],
});

/** @param {number} at */
function clock(at) {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/**
 * The indicator.
 * @param {HTMLElement} pill the header's state element
 * @param {HTMLElement} banner the notice area under the header
 */
export function createStatus(pill, banner) {
  /** @type {{count: number, first: string, last: string}|null} */
  let pendingLoss = null;
  const text = h('span', { class: 'banner-text' });
  const close = h('button', { class: 'btn small ghost', type: 'button', 'aria-label': 'Dismiss', text: 'Dismiss', onclick: () => { banner.hidden = true; } });
  banner.append(text, close);
  banner.hidden = true;

  /** @param {string} msg @param {string} tone */
  function show(msg, tone) {
    setText(text, msg);
    banner.dataset.tone = tone;
    banner.hidden = false;
  }

  return {
    /** @param {string} state the client's state */
    setState(state) {
      const [label, tone] = STATES[state] ?? [state, 'warn'];
      setText(pill, label);
      pill.dataset.tone = tone;
      pill.dataset.state = state;
      if (state === 'reconnecting') show('Connection lost. Reconnecting…', 'warn');
    },
    /** Events were lost across a reconnect. @param {{count?: number|string, firstLost?: string, lastLost?: string}} d */
    lost(d) {
      pendingLoss = { count: Number(d.count ?? 0), first: String(d.firstLost ?? '?'), last: String(d.lastLost ?? '?') };
      show(`${pendingLoss.count} events were lost (#${pendingLoss.first}–#${pendingLoss.last}). Re-syncing…`, 'warn');
    },
    /** The client is back. @param {{resumed?: boolean}} d */
    reconnected(d) {
      if (pendingLoss) return;
      if (d.resumed) show(`Reconnected at ${clock(Date.now())}; no events were missed.`, 'ok');
      else show(`Reconnected at ${clock(Date.now())} without resume; re-syncing…`, 'warn');
    },
    /** The store took a snapshot. @param {{reason?: string}} d */
    snapshot(d) {
      const at = clock(Date.now());
      if (d.reason === 'lost' || pendingLoss) {
        const l = pendingLoss;
        pendingLoss = null;
        show(l ? `${l.count} events were lost (#${l.first}–#${l.last}); the panel re-synced at ${at}.`
          : `Events were lost; the panel re-synced at ${at}.`, 'info');
      } else if (d.reason === 'reconnect') show(`Reconnected; the panel re-synced at ${at}.`, 'info');
      else if (d.reason === 'FullyBooted' || d.reason === 'Reload') show(`The PBX ${d.reason === 'Reload' ? 'reloaded' : 'restarted'}; the panel re-synced at ${at}.`, 'info');
    },
  };
}
