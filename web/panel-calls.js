// @ts-check
/** @file The live calls view: channels grouped into calls (bridge and Linkedid), who talks to
 * whom, state, a ticking duration, a hold lamp per party, and the call actions. */

import { h, setText, toggleClass, formatDuration, party, clean, reconcile } from './panel-dom.js';

/**
 * @typedef {{uniqueid: string, linkedid: string, name: string, state: string, stateDesc: string,
 *   callerIdNum: string, callerIdName: string, connectedNum: string, connectedName: string,
 *   context: string, exten: string, bridgeId: string, onHold: boolean, application: string,
 *   createdAt: number}} Channel
 * @typedef {{key: string, channels: Channel[], since: number}} Call
 */

/**
 * Groups channels into calls: channels that share a Linkedid or a two-party bridge are one call
 * (a parking or holding bridge, or a parked channel, joins nothing: parked calls stay apart).
 * The key is the smallest Linkedid in the group, so a call keeps its row from ringing to hang-up.
 * @param {Map<string, Channel>} channels
 * @param {Map<string, {type?: string}>} [bridges]
 * @param {Set<string>} [parked] uniqueids of parked channels
 * @returns {Call[]} oldest call first
 */
export function groupCalls(channels, bridges = new Map(), parked = new Set()) {
  /** @type {Map<string, string>} */
  const parent = new Map();
  const find = (/** @type {string} */ x) => {
    if (!parent.has(x)) parent.set(x, x);
    let r = x;
    while (parent.get(r) !== r) r = /** @type {string} */ (parent.get(r));
    parent.set(x, r);
    return r;
  };
  const link = (/** @type {Channel} */ c) => 'l:' + (c.linkedid || c.uniqueid);
  for (const c of channels.values()) {
    const ra = find(link(c));
    const type = c.bridgeId ? String(bridges.get(c.bridgeId)?.type ?? '') : '';
    if (c.bridgeId && !parked.has(c.uniqueid) && type !== 'parking' && type !== 'holding') {
      const rb = find('b:' + c.bridgeId);
      if (ra !== rb) parent.set(rb, ra);
    }
  }
  /** @type {Map<string, Call>} */
  const calls = new Map();
  for (const c of channels.values()) {
    const root = find(link(c));
    let call = calls.get(root);
    if (!call) {
      call = { key: '', channels: [], since: Infinity };
      calls.set(root, call);
    }
    call.channels.push(c);
    call.since = Math.min(call.since, c.createdAt || Date.now());
  }
  const out = [...calls.values()];
  for (const call of out) {
    call.channels.sort((a, b) => (a.createdAt - b.createdAt) || cmp(a.uniqueid, b.uniqueid));
    call.key = call.channels.map((c) => c.linkedid || c.uniqueid).sort(cmp)[0];
  }
  out.sort((a, b) => (a.since - b.since) || cmp(a.key, b.key));
  return out;
}

/**
 * The device of a channel name: `PJSIP/100-0000002a` -> `PJSIP/100`.
 * @param {string} name
 */
export function device(name) {
  return String(name ?? '').replace(/-[0-9a-f]+(;\d+)?$/i, '');
}

/** @param {string} a @param {string} b */
function cmp(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The call's state for the badge: on hold, ringing, talking, parked, queued, dialing.
 * @param {Call} call
 * @param {Set<string>} [parked] uniqueids of parked channels
 * @returns {{label: string, tone: string}}
 */
export function callState(call, parked = new Set()) {
  const chans = call.channels;
  const app = chans.length === 1 ? clean(chans[0].application) : '';
  if (app === 'Park' || app === 'ParkedCall' || chans.every((c) => parked.has(c.uniqueid))) return { label: 'Parked', tone: 'park' };
  if (chans.some((c) => c.onHold)) return { label: 'On hold', tone: 'hold' };
  if (app === 'Queue') return { label: 'In queue', tone: 'queue' };
  const desc = chans.map((c) => clean(c.stateDesc));
  if (desc.some((d) => d === 'Ringing' || d === 'Ring')) return { label: 'Ringing', tone: 'ring' };
  const bridged = chans.filter((c) => c.bridgeId).length;
  if (chans.length > 1 && bridged >= 2 && desc.every((d) => d === 'Up'))
    return { label: 'Talking', tone: 'talk' };
  if (desc.some((d) => d === 'Up')) return { label: chans.length > 1 ? 'Connecting' : 'Up', tone: 'talk' };
  return { label: desc[0] || 'Down', tone: 'idle' };
}

/**
 * The calls view.
 * @param {HTMLElement} root the section body
 * @param {{pbx: any, actions: any, can: (a: string) => boolean}} ctx
 */
export function createCallsView(root, ctx) {
  const list = h('ol', { class: 'calls', 'aria-label': 'Live calls' });
  const none = h('p', { class: 'empty', text: 'No calls right now.' });
  root.append(list, none);
  /** @type {Map<string, HTMLElement>} */
  const nodes = new Map();
  /** @type {Map<string, Call>} */
  let byKey = new Map();
  let perms = '';
  /** @type {Set<string>} */
  let parkedIds = new Set();

  /** @type {WeakMap<HTMLElement, {badge: HTMLElement, dur: HTMLElement, parties: HTMLElement, acts: HTMLElement, sig: string}>} */
  const refs = new WeakMap();

  /** @param {string} key */
  function make(key) {
    const badge = h('span', { class: 'badge' });
    const dur = h('span', { class: 'dur', 'aria-label': 'duration' });
    const parties = h('div', { class: 'parties' });
    const acts = h('div', { class: 'call-actions' });
    const el = h('li', { class: 'call', 'data-call': key }, h('div', { class: 'call-head' }, badge, dur), parties, acts);
    refs.set(el, { badge, dur, parties, acts, sig: '' });
    return el;
  }

  /** What a call row shows, as one string: unchanged means nothing to redraw. @param {Call} call */
  function signature(call) {
    let sig = `${call.since}|${perms}|${call.channels.some((c) => parkedIds.has(c.uniqueid)) ? 'P' : ''}`;
    for (const c of call.channels) {
      sig += `|${c.uniqueid},${c.name},${c.stateDesc},${c.onHold ? 1 : 0},${c.callerIdName},${c.callerIdNum},${c.exten},${c.bridgeId},${c.application},${c.context}`;
    }
    return sig;
  }

  /** @param {HTMLElement} el @param {string} key */
  function update(el, key) {
    const call = /** @type {Call} */ (byKey.get(key));
    const r = /** @type {{badge: HTMLElement, dur: HTMLElement, parties: HTMLElement, acts: HTMLElement, sig: string}} */ (refs.get(el));
    const sig = signature(call);
    if (r.sig === sig) return;
    r.sig = sig;
    const st = callState(call, parkedIds);
    setText(r.badge, st.label);
    if (r.badge.dataset.tone !== st.tone) r.badge.dataset.tone = st.tone;
    el.dataset.since = String(call.since);
    setText(r.dur, formatDuration(Date.now() - call.since));
    const ids = call.channels.map((c) => c.uniqueid).join(' ');
    const parties = r.parties;
    if (parties.dataset.sig !== ids) {
      parties.dataset.sig = ids;
      parties.replaceChildren(...call.channels.flatMap((c, i) => [
        i > 0 ? h('span', { class: 'arrow', 'aria-hidden': 'true', text: '→' }) : null,
        partyNode(c),
      ].filter((x) => x !== null)));
    }
    call.channels.forEach((c, i) => updateParty(/** @type {HTMLElement} */ (parties.children[i * 2]), c, call, i));
    const asig = ids + '|' + perms;
    if (r.acts.dataset.sig !== asig) {
      r.acts.dataset.sig = asig;
      r.acts.replaceChildren(...actionButtons(call));
    }
  }

  /** @param {Channel} c */
  function partyNode(c) {
    return h('div', { class: 'party', 'data-uniqueid': c.uniqueid },
      h('span', { class: 'lamp hold-lamp', title: 'hold', 'aria-label': 'hold lamp' }),
      h('div', { class: 'who' },
        h('span', { class: 'name' }),
        h('span', { class: 'num' })),
    );
  }

  /** @param {HTMLElement} el @param {Channel} c @param {Call} call @param {number} i */
  function updateParty(el, c, call, i) {
    toggleClass(el, 'on-hold', !!c.onHold);
    const lamp = /** @type {HTMLElement} */ (el.querySelector('.hold-lamp'));
    toggleClass(lamp, 'on', !!c.onHold);
    lamp.setAttribute('aria-pressed', c.onHold ? 'true' : 'false');
    let p = party(c.callerIdName, c.callerIdNum, device(c.name));
    // A lone dialing leg: show where it goes.
    if (call.channels.length === 1 && i === 0 && clean(c.exten) && clean(c.exten) !== 's') {
      p = { ...p, secondary: `${p.secondary ? p.secondary + ' · ' : ''}to ${c.exten}` };
    }
    setText(/** @type {HTMLElement} */ (el.querySelector('.name')), p.primary);
    setText(/** @type {HTMLElement} */ (el.querySelector('.num')), p.secondary || (p.primary === device(c.name) ? '' : device(c.name)));
    el.title = c.name;
  }

  /** @param {Call} call */
  function actionButtons(call) {
    const [a, b] = call.channels;
    const out = [];
    if (ctx.can('BlindTransfer') && b) {
      out.push(h('button', { class: 'btn', type: 'button', 'data-action': 'transfer', 'data-uniqueid': b.uniqueid,
        title: `Transfer ${a.callerIdNum || a.name} elsewhere`, text: 'Transfer',
        onclick: () => ctx.actions.transfer(b, a) }));
    }
    if (ctx.can('Park') && b) {
      out.push(h('button', { class: 'btn', type: 'button', 'data-action': 'park', 'data-uniqueid': a.uniqueid,
        title: `Park ${a.callerIdNum || a.name}`, text: 'Park',
        onclick: () => ctx.actions.park(a, b) }));
    }
    if (ctx.can('Hangup')) {
      out.push(h('button', { class: 'btn danger', type: 'button', 'data-action': 'hangup', 'data-uniqueid': a.uniqueid,
        title: `Hang up ${a.name}`, text: 'Hang up',
        onclick: () => ctx.actions.hangup(a) }));
    }
    return out;
  }

  return {
    /** Renders from the store. @returns {number} the number of calls */
    render() {
      perms = ['Hangup', 'BlindTransfer', 'Park'].map((a) => (ctx.can(a) ? 1 : 0)).join('');
      parkedIds = new Set([...ctx.pbx.parked.values()].map((p) => p.uniqueid));
      const calls = groupCalls(ctx.pbx.channels, ctx.pbx.bridges, parkedIds);
      byKey = new Map(calls.map((c) => [c.key, c]));
      reconcile(list, nodes, calls.map((c) => c.key), make, update);
      none.hidden = calls.length > 0;
      return calls.length;
    },
    /** Advances the durations (once a second). */
    tick() {
      const now = Date.now();
      for (const el of nodes.values()) {
        const r = refs.get(el);
        if (r) setText(r.dur, formatDuration(now - Number(el.dataset.since)));
      }
    },
  };
}
