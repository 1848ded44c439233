// @ts-check
/** @file The raw event log tab: the last events as the server sent them, filterable (event name
 * or any value) and pausable; bounded so a busy PBX cannot grow the page. */

import { h, setText } from './panel-dom.js';

/** Most events kept. */
export const LOG_LIMIT = 1000;
/** Most rows drawn. */
const SHOWN = 300;

/**
 * Whether an event matches a filter: every word must appear in the event name or some value.
 * @param {Record<string, string|string[]>} ev
 * @param {string[]} words lower-case
 */
export function matches(ev, words) {
  if (words.length === 0) return true;
  const hay = Object.entries(ev).map(([k, v]) => `${k}:${Array.isArray(v) ? v.join(' ') : v}`).join(' ').toLowerCase();
  return words.every((w) => hay.includes(w));
}

/**
 * The event log.
 * @param {HTMLElement} root
 */
export function createLogView(root) {
  /** @type {{at: number, ev: Record<string, any>}[]} */
  const events = [];
  let total = 0;
  let paused = false;
  let dirty = false;
  let visible = false;
  const filter = h('input', { type: 'search', class: 'log-filter', placeholder: 'Filter: event name or value (e.g. Hangup 100)', 'aria-label': 'Filter events' });
  const pause = h('button', { class: 'btn', type: 'button', 'aria-pressed': 'false', text: 'Pause' });
  const clear = h('button', { class: 'btn', type: 'button', text: 'Clear' });
  const count = h('span', { class: 'log-count' });
  const list = h('ol', { class: 'log', 'aria-live': 'off' });
  root.append(h('div', { class: 'log-tools' }, filter, pause, clear, count), list);
  filter.addEventListener('input', () => draw());
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.setAttribute('aria-pressed', String(paused));
    setText(pause, paused ? 'Resume' : 'Pause');
    root.classList.toggle('paused', paused);
    if (!paused) draw();
    else counts();
  });
  clear.addEventListener('click', () => {
    events.length = 0;
    draw();
  });

  function counts() {
    const shown = list.childElementCount;
    setText(count, `${total} events · ${shown} shown${paused ? ' · paused' : ''}`);
  }

  /** @param {{at: number, ev: Record<string, any>}} item */
  function row({ at, ev }) {
    const t = new Date(at);
    const time = [t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
    const rest = Object.entries(ev).filter(([k]) => k !== 'Event' && k !== 'WsSeq')
      .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(' | ') : v}`).join('   ');
    return h('li', { class: 'log-row' },
      h('span', { class: 'log-time', text: time }),
      h('span', { class: 'log-seq', text: ev.WsSeq ? `#${ev.WsSeq}` : '' }),
      h('span', { class: 'log-name', text: String(ev.Event ?? ev.Response ?? '') }),
      h('span', { class: 'log-rest', text: rest }));
  }

  function draw() {
    dirty = false;
    const words = /** @type {HTMLInputElement} */ (filter).value.toLowerCase().split(/\s+/).filter(Boolean);
    const rows = [];
    for (let i = events.length - 1; i >= 0 && rows.length < SHOWN; i--) {
      if (matches(events[i].ev, words)) rows.push(row(events[i]));
    }
    list.replaceChildren(...rows);
    counts();
  }

  return {
    /** Records one event. @param {Record<string, any>} ev */
    add(ev) {
      total++;
      events.push({ at: Date.now(), ev });
      if (events.length > LOG_LIMIT) events.splice(0, events.length - LOG_LIMIT);
      dirty = true;
    },
    /** Draws pending events when shown and not paused. */
    render() {
      if (visible && dirty && !paused) draw();
      else if (visible) counts();
    },
    /** @param {boolean} v whether the tab is shown */
    setVisible(v) {
      visible = v;
      if (v) draw();
    },
  };
}
