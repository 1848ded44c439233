// @ts-check
/** @file The logged-in panel: wires the store's change notifications to the views (batched to
 * one render per frame), the tabs, the dial box, the clock tick and the connection status. */

import { createCallsView } from './panel-calls.js';
import { createExtensionsView, byExten } from './panel-extensions.js';
import { createQueuesView } from './panel-queues.js';
import { createParkingView } from './panel-parking.js';
import { createLogView } from './panel-log.js';
import { createStatus } from './panel-status.js';
import { createActions, createToaster } from './panel-actions.js';
import { h, setText } from './panel-dom.js';

const FROM_KEY = 'ami-panel.from';

/**
 * Which views a store change touches.
 * @param {string} kind the change's kind (channel, bridge, extension, device, queue, parked, ...)
 * @returns {string[]}
 */
export function viewsFor(kind) {
  const k = String(kind).toLowerCase();
  if (k.startsWith('channel') || k.startsWith('bridge')) return ['calls'];
  if (k.startsWith('extension') || k.startsWith('device')) return ['extensions'];
  if (k.startsWith('queue') || k.startsWith('member') || k.startsWith('entr')) return ['queues'];
  if (k.startsWith('park')) return ['parking', 'calls'];
  return ['calls', 'extensions', 'queues', 'parking'];
}

/**
 * Mounts the panel into the page's `#app` skeleton.
 * @param {Document} doc
 * @param {{client: any, pbx: any, username: string}} deps
 * @returns {{flush: () => void, destroy: () => void, views: Record<string, any>}}
 */
export function mountApp(doc, { client, pbx, username }) {
  const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (doc.getElementById(id));
  const can = (/** @type {string} */ a) => (typeof pbx.can === 'function' ? !!pbx.can(a) : true);
  const notify = createToaster($('toasts'));
  const from = /** @type {HTMLSelectElement} */ ($('dial-from'));
  const actions = createActions(client, pbx, notify, () => from.value);
  const ctx = { pbx, actions, can };
  const views = /** @type {Record<string, any>} */ ({
    calls: createCallsView($('calls-body'), ctx),
    extensions: createExtensionsView($('ext-body'), ctx),
    queues: createQueuesView($('queues-body'), ctx),
    parking: createParkingView($('parking-body'), ctx),
  });
  const log = createLogView($('log-body'));
  const status = createStatus($('conn'), $('banner'));
  setText($('who'), username);
  $('who').dataset.initial = (username[0] || '?').toUpperCase();
  doc.body.classList.add('logged-in');

  // Dial box: from one of the extensions (remembered), to any number.
  const dialForm = /** @type {HTMLFormElement} */ ($('dial'));
  dialForm.hidden = !can('Originate');
  dialForm.onsubmit = (e) => {
    e.preventDefault();
    const to = /** @type {HTMLInputElement} */ ($('dial-to'));
    const v = to.value.trim();
    if (v) actions.dial(v, 'default').then((ok) => { if (ok) to.value = ''; });
  };
  from.onchange = () => { try { localStorage.setItem(FROM_KEY, from.value); } catch { /* ignore */ } };
  function fillFrom() {
    const want = from.value || (() => { try { return localStorage.getItem(FROM_KEY) || ''; } catch { return ''; } })();
    const extens = [...new Set([...pbx.extensions.values()].sort(byExten).map((e) => e.exten))];
    const sig = extens.join(',');
    if (from.dataset.sig === sig) return;
    from.dataset.sig = sig;
    from.replaceChildren(h('option', { value: '', text: 'My extension…' }), ...extens.map((x) => h('option', { value: x, text: x })));
    from.value = extens.includes(want) ? want : '';
  }

  // Tabs.
  const tabs = [...doc.querySelectorAll('[role="tab"]')];
  /** @param {string} id */
  function showTab(id) {
    for (const t of tabs) {
      const on = t.getAttribute('aria-controls') === id;
      t.setAttribute('aria-selected', String(on));
      t.setAttribute('tabindex', on ? '0' : '-1');
      $(/** @type {string} */ (t.getAttribute('aria-controls'))).hidden = !on;
    }
    log.setVisible(id === 'tab-log');
  }
  for (const t of tabs) t.addEventListener('click', () => showTab(/** @type {string} */ (t.getAttribute('aria-controls'))));
  showTab('tab-overview');

  // Batched rendering.
  const dirty = new Set(Object.keys(views));
  let scheduled = false;
  let timer = /** @type {any} */ (null);
  function flush() {
    scheduled = false;
    clearTimeout(timer);
    for (const name of dirty) {
      setText($(`count-${name}`), String(views[name].render()));
    }
    if (dirty.has('extensions')) fillFrom();
    dirty.clear();
    log.render();
  }
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(flush);
    timer = setTimeout(flush, 250); // a hidden tab gets no frames
  }
  /** @param {Event} e */
  const onChange = (e) => {
    for (const v of viewsFor(/** @type {CustomEvent} */ (e).detail?.kind ?? '')) dirty.add(v);
    schedule();
  };
  /** @param {Event} e */
  const onSnapshot = (e) => {
    for (const v of Object.keys(views)) dirty.add(v);
    status.snapshot(/** @type {CustomEvent} */ (e).detail ?? {});
    schedule();
  };
  pbx.addEventListener('change', onChange);
  pbx.addEventListener('snapshot', onSnapshot);
  const offs = [
    client.on('*', (/** @type {any} */ ev) => { log.add(ev); schedule(); }),
    client.on('state', (/** @type {any} */ d) => status.setState(d?.state ?? client.state)),
    client.on('lost', (/** @type {any} */ d) => status.lost(d ?? {})),
    client.on('reconnected', (/** @type {any} */ d) => status.reconnected(d ?? {})),
  ];
  status.setState(client.state ?? 'open');
  const tick = setInterval(() => {
    for (const v of Object.values(views)) v.tick?.();
  }, 1000);
  flush();

  return {
    flush,
    views,
    destroy() {
      clearInterval(tick);
      clearTimeout(timer);
      pbx.removeEventListener('change', onChange);
      pbx.removeEventListener('snapshot', onSnapshot);
      for (const off of offs) if (typeof off === 'function') off();
      doc.body.classList.remove('logged-in');
      for (const id of ['calls-body', 'ext-body', 'queues-body', 'parking-body', 'log-body', 'banner']) $(id).replaceChildren();
    },
  };
}
