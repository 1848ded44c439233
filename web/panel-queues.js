// @ts-check
/** @file The queues view: per queue its figures, members (state lamp, paused, in call, with
 * pause/unpause when allowed) and the callers waiting, with their wait ticking. */

import { h, setText, toggleClass, formatDuration, party, reconcile } from './panel-dom.js';

/**
 * A queue member's device state (app_queue's Status: an `ast_device_state` number).
 * @param {string|number} status
 * @returns {{tone: string, label: string}}
 */
export function memberState(status) {
  switch (Number(status)) {
    case 1: return { tone: 'idle', label: 'Available' };
    case 2: return { tone: 'busy', label: 'In use' };
    case 3: return { tone: 'busy', label: 'Busy' };
    case 6: return { tone: 'ring', label: 'Ringing' };
    case 7: return { tone: 'ring', label: 'Ringing (in use)' };
    case 8: return { tone: 'hold', label: 'On hold' };
    case 4: return { tone: 'off', label: 'Invalid' };
    case 5: return { tone: 'off', label: 'Unavailable' };
    default: return { tone: 'off', label: 'Unknown' };
  }
}

/** @param {unknown} v AMI flag ("1", "true", "yes") or boolean */
export function flag(v) {
  return v === true || v === 1 || (typeof v === 'string' && /^(1|true|yes|on)$/i.test(v));
}

/**
 * The queues view.
 * @param {HTMLElement} root
 * @param {{pbx: any, actions: any, can: (a: string) => boolean}} ctx
 */
export function createQueuesView(root, ctx) {
  const list = h('div', { class: 'queues' });
  const none = h('p', { class: 'empty', text: 'No queues.' });
  root.append(list, none);
  /** @type {Map<string, HTMLElement>} */
  const nodes = new Map();
  /** @type {WeakMap<HTMLElement, {members: Map<string, HTMLElement>, entries: Map<string, HTMLElement>}>} */
  const inner = new WeakMap();

  /** @param {string} name */
  function make(name) {
    const el = h('article', { class: 'queue', 'data-queue': name },
      h('header', { class: 'queue-head' },
        h('h3', { text: name }),
        h('span', { class: 'queue-stats' })),
      h('div', { class: 'queue-cols' },
        h('div', {}, h('h4', { text: 'Members' }), h('ul', { class: 'members' })),
        h('div', {}, h('h4', { class: 'waiting-title', text: 'Waiting' }), h('ol', { class: 'waiting' }),
          h('p', { class: 'empty small', text: 'Nobody waiting.' }))),
    );
    inner.set(el, { members: new Map(), entries: new Map() });
    return el;
  }

  /** @param {HTMLElement} el @param {string} name */
  function update(el, name) {
    const q = ctx.pbx.queues.get(name);
    const maps = /** @type {{members: Map<string, HTMLElement>, entries: Map<string, HTMLElement>}} */ (inner.get(el));
    const waiting = q.entries.size;
    const stats = [`${waiting} waiting`, `${q.completed ?? 0} answered`, `${q.abandoned ?? 0} abandoned`];
    if (q.holdtime !== undefined && q.holdtime !== '') stats.push(`hold ${q.holdtime}s`);
    setText(/** @type {HTMLElement} */ (el.querySelector('.queue-stats')), stats.join(' · '));
    toggleClass(el, 'has-waiting', waiting > 0);
    const members = [...q.members.values()].sort((a, b) => String(a.interface).localeCompare(String(b.interface), 'en', { numeric: true }));
    reconcile(/** @type {HTMLElement} */ (el.querySelector('.members')), maps.members, members.map((m) => m.interface),
      (iface) => h('li', { class: 'member', 'data-interface': iface },
        h('span', { class: 'lamp' }),
        h('span', { class: 'who' }, h('span', { class: 'name' }), h('span', { class: 'num' })),
        h('span', { class: 'tags' }),
        h('span', { class: 'member-actions' })),
      (mel, iface) => updateMember(mel, name, q.members.get(iface)));
    const entries = [...q.entries.values()].sort((a, b) => Number(a.position) - Number(b.position));
    reconcile(/** @type {HTMLElement} */ (el.querySelector('.waiting')), maps.entries, entries.map((e) => e.uniqueid),
      (uid) => h('li', { class: 'entry', 'data-uniqueid': uid },
        h('span', { class: 'pos' }), h('span', { class: 'who' }, h('span', { class: 'name' }), h('span', { class: 'num' })),
        h('span', { class: 'dur' })),
      (eel, uid) => {
        const e = q.entries.get(uid);
        const p = party(e.callerIdName, e.callerIdNum, e.channel);
        setText(/** @type {HTMLElement} */ (eel.querySelector('.pos')), String(e.position ?? ''));
        setText(/** @type {HTMLElement} */ (eel.querySelector('.name')), p.primary);
        setText(/** @type {HTMLElement} */ (eel.querySelector('.num')), p.secondary);
        eel.dataset.since = String(e.joinedAt || Date.now());
        setText(/** @type {HTMLElement} */ (eel.querySelector('.dur')), formatDuration(Date.now() - Number(eel.dataset.since)));
      });
    /** @type {HTMLElement} */ (el.querySelector('.empty.small')).hidden = waiting > 0;
  }

  /** @param {HTMLElement} el @param {string} queue @param {any} m */
  function updateMember(el, queue, m) {
    const st = memberState(m.status);
    const paused = flag(m.paused);
    const inCall = flag(m.inCall);
    const tone = paused ? 'paused' : st.tone;
    if (el.dataset.tone !== tone) el.dataset.tone = tone;
    const p = party(m.name, m.interface !== m.name ? m.interface : '', m.interface);
    setText(/** @type {HTMLElement} */ (el.querySelector('.name')), p.primary);
    setText(/** @type {HTMLElement} */ (el.querySelector('.num')), p.secondary);
    const tags = [];
    if (paused) tags.push(['paused', m.pausedReason ? `Paused: ${m.pausedReason}` : 'Paused']);
    if (inCall) tags.push(['incall', 'In call']);
    if (!paused && !inCall) tags.push(['state', st.label]);
    const sig = tags.map((t) => t.join(':')).join('|');
    const tagEl = /** @type {HTMLElement} */ (el.querySelector('.tags'));
    if (tagEl.dataset.sig !== sig) {
      tagEl.dataset.sig = sig;
      tagEl.replaceChildren(...tags.map(([cls, text]) => h('span', { class: `tag ${cls}`, text })));
    }
    el.title = `${m.interface} · ${m.callsTaken ?? 0} calls taken`;
    const act = /** @type {HTMLElement} */ (el.querySelector('.member-actions'));
    const asig = ctx.can('QueuePause') ? (paused ? 'unpause' : 'pause') : '';
    if (act.dataset.sig !== asig) {
      act.dataset.sig = asig;
      act.replaceChildren(...(asig ? [h('button', { class: 'btn small', type: 'button', 'data-action': asig,
        text: paused ? 'Unpause' : 'Pause',
        onclick: () => ctx.actions.queuePause(queue, m.interface, !paused) })] : []));
    }
  }

  return {
    /** @returns {string} the callers waiting in all queues, for the section's count */
    render() {
      const names = [...ctx.pbx.queues.keys()].sort();
      reconcile(list, nodes, names, make, update);
      none.hidden = names.length > 0;
      let waiting = 0;
      for (const q of ctx.pbx.queues.values()) waiting += q.entries.size;
      return `${waiting} waiting`;
    },
    /** Advances the waiting times. */
    tick() {
      const now = Date.now();
      for (const el of list.querySelectorAll('.entry')) {
        setText(/** @type {HTMLElement} */ (el.querySelector('.dur')), formatDuration(now - Number(/** @type {HTMLElement} */ (el).dataset.since)));
      }
    },
  };
}
