// @ts-check
/** @file The parking view: parked calls by lot and space, time parked ticking, time left. */

import { h, setText, formatDuration, party, reconcile } from './panel-dom.js';

/**
 * The parking view.
 * @param {HTMLElement} root
 * @param {{pbx: any, actions: any, can: (a: string) => boolean}} ctx
 */
export function createParkingView(root, ctx) {
  const list = h('ul', { class: 'parked', 'aria-label': 'Parked calls' });
  const none = h('p', { class: 'empty', text: 'No parked calls.' });
  root.append(list, none);
  /** @type {Map<string, HTMLElement>} */
  const nodes = new Map();

  /** @param {string} key */
  function make(key) {
    return h('li', { class: 'slot', 'data-parked': key },
      h('span', { class: 'space' }),
      h('span', { class: 'who' }, h('span', { class: 'name' }), h('span', { class: 'num' })),
      h('span', { class: 'dur' }),
      h('span', { class: 'slot-actions' }));
  }

  /** @param {HTMLElement} el @param {string} key */
  function update(el, key) {
    const p = ctx.pbx.parked.get(key);
    const who = party(p.callerIdName, p.callerIdNum, p.channel);
    setText(/** @type {HTMLElement} */ (el.querySelector('.space')), String(p.space));
    setText(/** @type {HTMLElement} */ (el.querySelector('.name')), who.primary);
    setText(/** @type {HTMLElement} */ (el.querySelector('.num')), `${who.secondary ? who.secondary + ' · ' : ''}lot ${p.lot}`);
    el.dataset.since = String(p.parkedAt || Date.now());
    el.dataset.timeout = String(p.timeout ?? '');
    setText(/** @type {HTMLElement} */ (el.querySelector('.dur')), label(el, Date.now()));
    const act = /** @type {HTMLElement} */ (el.querySelector('.slot-actions'));
    const want = ctx.can('Originate') ? 'pickup' : '';
    if (act.dataset.sig !== want) {
      act.dataset.sig = want;
      act.replaceChildren(...(want ? [h('button', { class: 'btn small', type: 'button', 'data-action': 'pickup',
        title: `Pick up from space ${p.space}`, text: 'Pick up', onclick: () => ctx.actions.dial(String(p.space), 'parkedcalls') })] : []));
    }
  }

  /** @param {HTMLElement} el @param {number} now */
  function label(el, now) {
    const since = Number(el.dataset.since);
    const parked = formatDuration(now - since);
    const t = Number(el.dataset.timeout);
    return t > 0 ? `${parked} · ${formatDuration(since + t * 1000 - now)} left` : parked;
  }

  return {
    /** @returns {number} parked calls */
    render() {
      const keys = [...ctx.pbx.parked.entries()]
        .sort(([, a], [, b]) => String(a.lot).localeCompare(String(b.lot)) || Number(a.space) - Number(b.space))
        .map(([k]) => k);
      reconcile(list, nodes, keys, make, update);
      none.hidden = keys.length > 0;
      return keys.length;
    },
    /** Advances the times. */
    tick() {
      const now = Date.now();
      for (const el of nodes.values()) setText(/** @type {HTMLElement} */ (el.querySelector('.dur')), label(el, now));
    },
  };
}
