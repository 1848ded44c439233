// @ts-check
/** @file The extensions view: one tile per hinted extension with its BLF lamp, and a
 * click-to-call button when the user may originate. */

import { h, setText, reconcile } from './panel-dom.js';

/**
 * The lamp for an ExtensionStatus code (Asterisk's `ast_extension_state`: 0 idle, 1 in use,
 * 2 busy, 4 unavailable, 8 ringing, 16 on hold; bit sums combine them).
 * @param {string|number} status
 * @returns {{tone: string, label: string}}
 */
export function blf(status) {
  const s = Number(status);
  if (!Number.isFinite(s) || s < 0) return { tone: 'off', label: 'Unknown' };
  if (s & 8) return { tone: 'ring', label: s & 1 ? 'Ringing (in use)' : 'Ringing' };
  if (s & 16) return { tone: 'hold', label: 'On hold' };
  if (s & 2) return { tone: 'busy', label: 'Busy' };
  if (s & 1) return { tone: 'busy', label: 'In use' };
  if (s & 4) return { tone: 'off', label: 'Unavailable' };
  return { tone: 'idle', label: 'Idle' };
}

/**
 * Numeric-aware order of extension keys (`100@default` before `1000@default`).
 * @param {{exten: string, context: string}} a
 * @param {{exten: string, context: string}} b
 */
export function byExten(a, b) {
  return a.exten.localeCompare(b.exten, 'en', { numeric: true }) || a.context.localeCompare(b.context);
}

/**
 * The extensions view.
 * @param {HTMLElement} root
 * @param {{pbx: any, actions: any, can: (a: string) => boolean}} ctx
 */
export function createExtensionsView(root, ctx) {
  const grid = h('ul', { class: 'blf-grid', 'aria-label': 'Extensions' });
  const none = h('p', { class: 'empty', text: 'No extension hints.' });
  root.append(grid, none);
  /** @type {Map<string, HTMLElement>} */
  const nodes = new Map();

  /** @param {string} key */
  function make(key) {
    const e = ctx.pbx.extensions.get(key);
    const el = h('li', { class: 'blf', 'data-ext': key },
      h('span', { class: 'lamp' }),
      h('span', { class: 'ext-num', text: e.exten }),
      h('span', { class: 'ext-state' }),
    );
    return el;
  }

  /** @param {HTMLElement} el @param {string} key */
  function update(el, key) {
    const e = ctx.pbx.extensions.get(key);
    const lamp = blf(e.status);
    if (el.dataset.tone !== lamp.tone) el.dataset.tone = lamp.tone;
    setText(/** @type {HTMLElement} */ (el.querySelector('.ext-state')), lamp.label);
    el.title = `${e.exten}@${e.context}${e.hint ? ' · ' + e.hint : ''} · ${e.statusText || lamp.label}`;
    const can = ctx.can('Originate');
    const btn = el.querySelector('button');
    if (can && !btn) {
      el.append(h('button', { class: 'btn icon', type: 'button', 'data-action': 'call', 'aria-label': `Call ${e.exten}`,
        title: `Call ${e.exten}`, text: '☎', onclick: () => ctx.actions.dial(e.exten, e.context) }));
    } else if (!can && btn) btn.remove();
  }

  return {
    /** @returns {number} how many extensions */
    render() {
      const list = [...ctx.pbx.extensions.values()].sort(byExten);
      reconcile(grid, nodes, list.map((e) => `${e.exten}@${e.context}`), make, update);
      none.hidden = list.length > 0;
      return list.length;
    },
  };
}
