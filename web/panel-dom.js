// @ts-check
/** @file Small DOM and formatting helpers shared by the panel's views (no framework). */

/**
 * Creates an element. `attrs`: `class`, `text`, `on<event>` handlers, `data-*`, other attributes
 * (a `false`/`null` value leaves the attribute out). Children: nodes or strings.
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node|string|null|undefined|false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'class') el.className = String(v);
    else if (k === 'text') el.textContent = String(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

/**
 * Sets an element's text only when it changed (keeps layout work down on frequent renders).
 * @param {Element} el
 * @param {string} text
 */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/**
 * Sets or clears one class only when needed.
 * @param {Element} el
 * @param {string} cls
 * @param {boolean} on
 */
export function toggleClass(el, cls, on) {
  if (el.classList.contains(cls) !== on) el.classList.toggle(cls, on);
}

/**
 * `m:ss` or `h:mm:ss` for a span in milliseconds (negative counts as zero).
 * @param {number} ms
 * @returns {string}
 */
export function formatDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/**
 * A party's label: "Name <num>", or the number, or the channel name.
 * @param {string|undefined} name
 * @param {string|undefined} num
 * @param {string} [fallback]
 * @returns {{primary: string, secondary: string}}
 */
export function party(name, num, fallback = '') {
  const n = clean(name);
  const d = clean(num);
  if (n && d && n !== d) return { primary: n, secondary: d };
  return { primary: n || d || fallback || 'unknown', secondary: n || d ? fallback : '' };
}

/**
 * Asterisk's "<unknown>" and empty values as an empty string.
 * @param {string|undefined|null} v
 * @returns {string}
 */
export function clean(v) {
  if (v === undefined || v === null) return '';
  const s = String(v);
  return s === '<unknown>' || s === '<Unknown>' ? '' : s;
}

/**
 * Keeps a keyed list of child elements in `parent` in the order of `keys`: creates missing ones
 * with `make(key)`, removes the ones no longer listed, and calls `update(el, key)` on each.
 * Moves a node only when it is out of place.
 * @template K
 * @param {Element} parent
 * @param {Map<K, HTMLElement>} nodes
 * @param {K[]} keys
 * @param {(key: K) => HTMLElement} make
 * @param {(el: HTMLElement, key: K) => void} update
 */
export function reconcile(parent, nodes, keys, make, update) {
  const wanted = new Set(keys);
  for (const [k, el] of nodes) {
    if (!wanted.has(k)) {
      el.remove();
      nodes.delete(k);
    }
  }
  let prev = /** @type {Element|null} */ (null);
  for (const k of keys) {
    let el = nodes.get(k);
    if (!el) {
      el = make(k);
      nodes.set(k, el);
    }
    update(el, k);
    const want = prev ? prev.nextElementSibling : parent.firstElementChild;
    if (want !== el) parent.insertBefore(el, want);
    prev = el;
  }
}

/**
 * The text for an empty section.
 * @param {string} text
 * @returns {HTMLElement}
 */
export function empty(text) {
  return h('p', { class: 'empty', text });
}
