// @ts-check
/**
 * @file ami-ws: a dependency-free client for AMI over WebSocket (res_ami_websocket), for browsers
 * and Node 20+. Login (plain or MD5 challenge), promise-based actions and list actions routed by
 * ActionID, events (listeners and async iterators), reconnect with resume, heartbeat.
 */

import { md5Hex } from './md5.js';

/** Header names the server accepts: `[A-Za-z0-9_-]+` (src/ami/validate.rs `is_valid_name`). */
const NAME_RE = /^[A-Za-z0-9_-]+$/;
/** Limits of src/ami/validate.rs `Limits::default()`. */
const LIMITS = { maxHeaders: 128, maxNameLen: 64, maxValueLen: 1000, maxTotal: 65536 };

const encoder = new TextEncoder();

/** How many recent events' texts are kept to recognise a replay after a reconnect. */
const RECENT = 256;

/** An error from the client; `code` says what kind (see the .d.ts for the list). */
export class AmiError extends Error {
  /**
   * @param {string} code 'auth' | 'timeout' | 'aborted' | 'closed' | 'busy' | 'invalid' | 'action' | 'network'
   * @param {string} message
   * @param {Record<string, string | string[]>} [response] the AMI message that caused it, if any
   */
  constructor(code, message, response) {
    super(message);
    this.name = 'AmiError';
    /** @type {string} */
    this.code = code;
    /** @type {Record<string, string | string[]> | undefined} */
    this.response = response;
  }
}

/**
 * The forbidden character in a value, named, or null (src/ami/validate.rs `forbidden_char`):
 * CR, LF, NUL and the other C0 controls and DEL; TAB is allowed.
 * @param {string} value
 * @returns {string | null}
 */
function forbiddenChar(value) {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 13) return 'CR';
    if (c === 10) return 'LF';
    if (c === 0) return 'NUL';
    if (c === 9) continue;
    if (c < 0x20 || c === 0x7f) return 'a control character';
  }
  return null;
}

/**
 * Checks an action the way the server does (src/ami/validate.rs) and returns it normalised:
 * numbers and booleans become strings, arrays stay arrays (a repeated header).
 * Throws AmiError code 'invalid' naming the problem; nothing is ever stripped.
 * @param {Record<string, unknown>} action
 * @returns {Record<string, string | string[]>}
 */
export function validateAction(action) {
  if (action === null || typeof action !== 'object' || Array.isArray(action)) {
    throw new AmiError('invalid', 'An action must be an object of header names to values');
  }
  /** @type {Record<string, string | string[]>} */
  const out = {};
  const seen = new Set();
  let headers = 0;
  let total = 2; // the final CRLF
  let actionName = null;
  for (const [name, raw] of Object.entries(action)) {
    if (raw === undefined) continue;
    if (encoder.encode(name).length > LIMITS.maxNameLen) {
      throw new AmiError('invalid', `Header name too long (limit ${LIMITS.maxNameLen}): '${shown(name)}'`);
    }
    if (!NAME_RE.test(name)) {
      throw new AmiError('invalid', `Invalid header name '${shown(name)}': use only letters, digits, '_' and '-'`);
    }
    const lower = name.toLowerCase();
    if (seen.has(lower)) {
      throw new AmiError('invalid', `Duplicate key '${name}': send a repeated header as an array of strings`);
    }
    seen.add(lower);
    const list = Array.isArray(raw) ? raw : [raw];
    if (list.length === 0) throw new AmiError('invalid', `Invalid value for '${name}': empty array`);
    const values = list.map((v) => {
      if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
      if (typeof v !== 'string') {
        throw new AmiError('invalid', `Invalid value for '${name}': expected a string or an array of strings`);
      }
      return v;
    });
    for (const v of values) {
      const bad = forbiddenChar(v);
      if (bad) {
        throw new AmiError(
          'invalid',
          `Invalid value for '${name}': contains ${bad} (CR, LF, NUL and control characters other than TAB are not allowed)`,
        );
      }
      const len = encoder.encode(v).length;
      if (len > LIMITS.maxValueLen) {
        throw new AmiError('invalid', `Value of '${name}' too long (${len} bytes, limit ${LIMITS.maxValueLen})`);
      }
      headers++;
      total += name.length + 2 + len + 2;
    }
    if (lower === 'action') {
      if (values.length !== 1) throw new AmiError('invalid', 'More than one Action header');
      actionName = values[0];
    }
    out[name] = Array.isArray(raw) ? values : values[0];
  }
  if (headers > LIMITS.maxHeaders) throw new AmiError('invalid', `Too many headers (limit ${LIMITS.maxHeaders})`);
  if (total > LIMITS.maxTotal) throw new AmiError('invalid', `Action too large (${total} bytes, limit ${LIMITS.maxTotal})`);
  if (actionName === null) throw new AmiError('invalid', 'Missing action in request');
  if (!NAME_RE.test(actionName) || actionName.length > LIMITS.maxNameLen) {
    throw new AmiError('invalid', `Invalid action name '${shown(actionName)}'`);
  }
  return out;
}

/** @param {string} text @returns {string} client text safe for an error message */
function shown(text) {
  const cut = text.length > 48 ? `${text.slice(0, 48)}...` : text;
  return cut.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}

/**
 * Value of a header, ASCII case ignored; first value of a repeated header.
 * @param {Record<string, string | string[]>} msg
 * @param {string} name
 * @returns {string | undefined}
 */
export function header(msg, name) {
  if (name in msg) {
    const v = msg[name];
    return Array.isArray(v) ? v[0] : v;
  }
  const lower = name.toLowerCase();
  for (const k of Object.keys(msg)) {
    if (k.toLowerCase() === lower) {
      const v = msg[k];
      return Array.isArray(v) ? v[0] : v;
    }
  }
  return undefined;
}

/** @param {string | undefined} v @returns {boolean} AMI's ast_true */
function isTrue(v) {
  return v !== undefined && /^(yes|true|y|t|1|on)$/i.test(v.trim());
}

/**
 * Settles an async Originate's pending call with its OriginateResponse event.
 * @param {{resolve: (v: any) => void, reject: (e: Error) => void}} p @param {Record<string, string | string[]>} ev
 */
function settleOriginate(p, ev) {
  if (/^failure$/i.test(String(header(ev, 'Response') ?? ''))) {
    p.reject(new AmiError('action', `Originate failed: ${header(ev, 'Reason') ?? ''}`.trim(), ev));
  } else {
    p.resolve(ev);
  }
}

/** @param {string} a @param {string} b @returns {number} compares two decimal sequence numbers */
function seqCompare(a, b) {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}


const DEFAULTS = {
  auth: 'md5',
  timeout: 10000,
  maxPending: 1000,
  eventBuffer: 1000,
  reconnect: { initialDelay: 500, maxDelay: 30000, factor: 2, jitter: 0.5 },
  heartbeat: { interval: 15000, deadline: 10000 },
};

/** @typedef {import('./ami-ws.js').AmiClient} AmiClientApi the declared API (ami-ws.d.ts) */

/**
 * A client for one AMI-over-WebSocket endpoint. Use {@link connect} to make one.
 * @implements {AmiClientApi}
 */
export class AmiClient {
  /** @param {import('./ami-ws.js').ConnectOptions} options */
  constructor(options) {
    if (!options || typeof options.url !== 'string') throw new AmiError('invalid', 'connect() needs a url');
    this._opts = options;
    this._WS = options.WebSocket ?? /** @type {any} */ (globalThis).WebSocket;
    if (typeof this._WS !== 'function') {
      throw new AmiError('network', 'No WebSocket constructor: pass options.WebSocket (Node 20 needs --experimental-websocket)');
    }
    this._auth = options.auth ?? DEFAULTS.auth;
    if (this._auth !== 'md5' && this._auth !== 'plain') throw new AmiError('invalid', "auth must be 'md5' or 'plain'");
    this._timeout = options.timeout ?? DEFAULTS.timeout;
    this._maxPending = options.maxPending ?? DEFAULTS.maxPending;
    this._eventBuffer = options.eventBuffer ?? DEFAULTS.eventBuffer;
    this._reconnect = options.reconnect === false ? null : { ...DEFAULTS.reconnect, ...(options.reconnect ?? {}) };
    this._heartbeat = options.heartbeat === false ? null : { ...DEFAULTS.heartbeat, ...(options.heartbeat ?? {}) };
    const clock = options.clock ?? {};
    this._setTimeout = clock.setTimeout ?? ((fn, ms) => setTimeout(fn, ms));
    this._clearTimeout = clock.clearTimeout ?? ((id) => clearTimeout(id));
    this._now = clock.now ?? (() => Date.now());
    this._random = options.random ?? Math.random;
    /** @type {'connecting' | 'open' | 'reconnecting' | 'closed'} */
    this.state = 'connecting';
    /** @type {string | null} last WsSeq seen */
    this.lastSeq = options.resumeAfter ?? null;
    /** @type {Map<string, any>} */
    this._pending = new Map();
    /** @type {Map<string, Set<Function>>} */
    this._listeners = new Map();
    /** @type {Set<any>} */
    this._iterators = new Set();
    this._ws = null;
    this._counter = 0;
    this._prefix = '';
    this._attempt = 0;
    this._retryTimer = null;
    this._hbTimer = null;
    this._lastRx = 0;
    this._closedByUser = false;
    /** @type {Record<string, string | string[]> | null} */
    this._loginRefused = null;
    /** @type {Map<string, string>} the text of the last RECENT events by WsSeq (tells a replay from a restart) */
    this._recent = new Map();
    /** no numbered event seen yet on the current socket */
    this._firstOnSocket = true;
  }

  /**
   * Opens the first connection and logs in. Resolves once logged in; rejects with AmiError
   * 'auth' (bad credentials, final) or 'network' (could not connect), without retrying.
   * @returns {Promise<this>}
   */
  async open() {
    try {
      await this._connectOnce(true); // resumes only when options.resumeAfter gave a lastSeq
    } catch (err) {
      this._setState('closed');
      throw err;
    }
    this._setState('open');
    return this;
  }

  /**
   * Sends an action and resolves with its response. `Response: Error` rejects with AmiError
   * 'action'. An Originate with `Async: true` resolves with its OriginateResponse event.
   * @param {Record<string, unknown>} action
   * @param {{timeout?: number, signal?: AbortSignal}} [opts]
   * @returns {Promise<Record<string, string | string[]>>}
   */
  send(action, opts = {}) {
    return this._call(action, opts, 'send');
  }

  /**
   * Runs a list action and collects its items: the response, the events with the same ActionID,
   * and the event carrying `EventList: Complete`.
   * @param {Record<string, unknown>} action
   * @param {{timeout?: number, signal?: AbortSignal}} [opts]
   * @returns {Promise<import('./ami-ws.js').ListResult>}
   */
  list(action, opts = {}) {
    return /** @type {any} */ (this._call(action, opts, 'list'));
  }

  /**
   * Adds a listener for an AMI event name, '*' (every AMI event) or a client notification
   * ('state', 'lost', 'reconnected', 'error').
   * @param {string} name
   * @param {(ev: any) => void} fn
   * @returns {() => void} unsubscribe
   */
  on(name, fn) {
    let set = this._listeners.get(name);
    if (!set) this._listeners.set(name, (set = new Set()));
    set.add(fn);
    return () => this.off(name, fn);
  }

  /**
   * Removes a listener added with {@link on}.
   * @param {string} name
   * @param {(ev: any) => void} fn
   */
  off(name, fn) {
    const set = this._listeners.get(name);
    if (set) {
      set.delete(fn);
      if (set.size === 0) this._listeners.delete(name);
    }
  }

  /**
   * Events as an async iterator. `filter` maps header names to an accepted value or list of
   * values (`{Event: ['Hangup', 'Newstate']}`); no filter takes every AMI event. The buffer
   * holds at most `bufferSize` events; on overflow the oldest are dropped and the iterator
   * yields `{Event: 'WsBufferOverflow', Dropped: '<n>'}` in their place before the next event.
   * The iterator ends when `signal` aborts, when the loop breaks, or when the client closes.
   * @param {Record<string, string | string[]>} [filter]
   * @param {{bufferSize?: number, signal?: AbortSignal}} [opts]
   * @returns {AsyncIterableIterator<import('./ami-ws.js').AmiEventBase | import('./ami-ws.js').BufferOverflowNotice>}
   */
  events(filter = {}, opts = {}) {
    const size = Math.max(1, opts.bufferSize ?? this._eventBuffer);
    /** @type {[string, Set<string>][]} */
    const accept = Object.entries(filter).map(([k, v]) => [k, new Set(Array.isArray(v) ? v : [v])]);
    /** @type {any[]} */
    const buffer = [];
    let dropped = 0;
    let done = false;
    /** @type {((r: IteratorResult<any>) => void) | null} */
    let wake = null;
    const client = this;
    const finish = () => {
      if (done) return;
      done = true;
      client._iterators.delete(entry);
      opts.signal?.removeEventListener('abort', finish);
      if (wake) {
        const w = wake;
        wake = null;
        w({ value: undefined, done: true });
      }
    };
    const entry = {
      /** @param {Record<string, string | string[]>} ev */
      push(ev) {
        for (const [k, set] of accept) {
          const v = /** @type {any} */ (ev)[k];
          if (!(Array.isArray(v) ? v.some((x) => set.has(x)) : set.has(v))) return;
        }
        if (wake) {
          const w = wake;
          wake = null;
          w({ value: ev, done: false });
          return;
        }
        buffer.push(ev);
        if (buffer.length > size) {
          buffer.shift();
          dropped++;
        }
      },
      finish,
    };
    if (opts.signal?.aborted) done = true;
    else {
      this._iterators.add(entry);
      opts.signal?.addEventListener('abort', finish);
    }
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      next() {
        if (dropped > 0) {
          const n = dropped;
          dropped = 0;
          return Promise.resolve({ value: { Event: 'WsBufferOverflow', Dropped: String(n) }, done: false });
        }
        if (buffer.length > 0) return Promise.resolve({ value: buffer.shift(), done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          wake = resolve;
        });
      },
      return() {
        finish();
        buffer.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  /** Logs off (best effort), closes the connection for good and rejects pending calls. */
  close() {
    if (this.state === 'closed') return;
    this._closedByUser = true;
    if (this._retryTimer !== null) this._clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._stopHeartbeat();
    const ws = this._ws;
    this._ws = null;
    this._rejectAll(new AmiError('closed', 'Client closed'));
    if (ws) {
      try {
        if (ws.readyState === 1) ws.send(JSON.stringify({ Action: 'Logoff', ActionID: `${this._prefix}logoff` }));
        ws.close(1000, 'client closed');
      } catch {
        // The socket is going away either way.
      }
    }
    this._setState('closed');
    for (const it of [...this._iterators]) it.finish();
  }

  // ---- internals ----

  /** @param {'connecting' | 'open' | 'reconnecting' | 'closed'} state */
  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this._emit('state', { state });
  }

  /** @param {string} name @param {any} payload */
  _emit(name, payload) {
    const set = this._listeners.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(payload);
      } catch (err) {
        if (name !== 'error') this._emit('error', { error: err, during: name });
      }
    }
  }

  /** @returns {string} a fresh ActionID */
  _nextId() {
    this._counter++;
    return `${this._prefix}${this._counter}`;
  }

  /**
   * @param {Record<string, unknown>} action
   * @param {{timeout?: number, signal?: AbortSignal}} opts
   * @param {'send' | 'list'} kind
   * @param {boolean} [internal] login-phase call: allowed before the state is 'open'
   */
  _call(action, opts, kind, internal = false) {
    return new Promise((resolve, reject) => {
      /** @type {Record<string, string | string[]>} */
      let msg;
      try {
        msg = validateAction(action);
      } catch (err) {
        reject(err);
        return;
      }
      if (opts.signal?.aborted) {
        reject(new AmiError('aborted', 'Aborted before sending'));
        return;
      }
      const ws = this._ws;
      if (!ws || (!internal && this.state !== 'open') || ws.readyState !== 1) {
        reject(new AmiError('closed', `Not connected (state ${this.state})`));
        return;
      }
      if (this._pending.size >= this._maxPending) {
        reject(new AmiError('busy', `Too many pending calls (limit ${this._maxPending})`));
        return;
      }
      let id = header(msg, 'ActionID');
      if (id !== undefined && id !== '') {
        if (this._pending.has(id)) {
          reject(new AmiError('invalid', `ActionID '${shown(id)}' is already in use by a pending call`));
          return;
        }
      } else {
        for (const k of Object.keys(msg)) if (k.toLowerCase() === 'actionid') delete msg[k];
        id = this._nextId();
        msg.ActionID = id;
        try {
          validateAction(msg); // the server's header and size limits count the ActionID too
        } catch (err) {
          reject(err);
          return;
        }
      }
      const name = String(header(msg, 'Action'));
      const asyncOriginate = kind === 'send' && /^originate$/i.test(name) && isTrue(header(msg, 'Async'));
      const timeout = opts.timeout ?? this._timeout;
      const p = {
        kind,
        name,
        asyncOriginate,
        response: null,
        items: [],
        ws,
        resolve,
        reject,
        timer: null,
        cleanup: () => {},
      };
      const settle = () => {
        this._pending.delete(/** @type {string} */ (id));
        if (p.timer !== null) this._clearTimeout(p.timer);
        p.cleanup();
      };
      p.resolve = (v) => {
        settle();
        resolve(v);
      };
      p.reject = (e) => {
        settle();
        reject(e);
      };
      if (timeout > 0 && Number.isFinite(timeout)) {
        p.timer = this._setTimeout(() => p.reject(new AmiError('timeout', `${name} timed out after ${timeout} ms`)), timeout);
      }
      if (opts.signal) {
        const signal = opts.signal;
        const onAbort = () => p.reject(new AmiError('aborted', `${name} aborted`));
        signal.addEventListener('abort', onAbort, { once: true });
        p.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this._pending.set(id, p);
      try {
        ws.send(JSON.stringify(msg));
      } catch (err) {
        p.reject(new AmiError('closed', `Send failed: ${/** @type {Error} */ (err).message}`));
      }
    });
  }

  /** @param {AmiError} err */
  _rejectAll(err) {
    for (const p of [...this._pending.values()]) p.reject(err);
  }

  /**
   * Opens one socket and logs in. Resolves when logged in.
   * @param {boolean} [resume] carry `WsResumeAfter: lastSeq`
   */
  _connectOnce(resume = false) {
    return new Promise((resolve, reject) => {
      this._prefix = `${Math.floor(this._random() * 0x7fffffff).toString(36)}${Date.now().toString(36).slice(-4)}-`;
      this._counter = 0;
      let ws;
      try {
        ws = new this._WS(this._opts.url, this._opts.protocols ?? 'ami-json');
      } catch (err) {
        reject(new AmiError('network', `Cannot open ${this._opts.url}: ${/** @type {Error} */ (err).message}`));
        return;
      }
      this._ws = ws;
      this._loginRefused = null;
      this._firstOnSocket = true;
      let loggedIn = false;
      let failed = false;
      // The socket must open and the login finish within the call timeout (a black-holed
      // address would otherwise leave the connection attempt pending for minutes).
      const limit = this._timeout > 0 && Number.isFinite(this._timeout) ? this._timeout : 0;
      const deadline = limit ? this._setTimeout(() => fail(new AmiError('network', `No connection and login within ${limit} ms`)), limit) : null;
      /** @param {AmiError} err */
      const fail = (err) => {
        if (failed || loggedIn) return;
        failed = true;
        if (deadline !== null) this._clearTimeout(deadline);
        if (this._ws === ws) this._ws = null;
        try {
          ws.close();
        } catch {
          // already closing
        }
        reject(err);
      };
      ws.onmessage = (/** @type {{data: any}} */ e) => {
        if (this._ws === ws) this._onMessage(e.data);
      };
      ws.onerror = () => {
        // A close event follows; it decides.
      };
      ws.onclose = (/** @type {{code?: number, reason?: string}} */ e) => {
        if (!loggedIn) {
          const refused = this._loginRefused;
          const err = refused
            ? asLoginError(new AmiError('action', String(header(refused, 'Message') ?? ''), refused))
            : new AmiError('network', `Connection closed before login (code ${e?.code ?? '?'})`);
          this._rejectPendingOf(ws, err);
          fail(err);
          return;
        }
        if (this._ws === ws) this._onDrop(`closed with code ${e?.code ?? '?'}`);
      };
      ws.onopen = async () => {
        try {
          const login = await this._login(resume);
          if (failed) return;
          loggedIn = true;
          if (deadline !== null) this._clearTimeout(deadline);
          this._lastRx = this._now();
          this._startHeartbeat();
          resolve(login);
        } catch (err) {
          fail(/** @type {AmiError} */ (err));
        }
      };
    });
  }

  /** @param {any} ws @param {AmiError} err rejects the calls sent on that socket */
  _rejectPendingOf(ws, err) {
    for (const p of [...this._pending.values()]) if (p.ws === ws) p.reject(err);
  }

  /** @param {boolean} resume */
  async _login(resume) {
    const opts = { timeout: this._timeout };
    /** @type {Record<string, unknown>} */
    const login = { Action: 'Login', Username: this._opts.username };
    if (this._auth === 'md5') {
      let ch;
      try {
        ch = await this._call({ Action: 'Challenge', AuthType: 'MD5' }, opts, 'send', true);
      } catch (err) {
        throw asLoginError(err);
      }
      const challenge = header(ch, 'Challenge') ?? '';
      login.AuthType = 'MD5';
      login.Key = md5Hex(challenge + (this._opts.secret ?? ''));
    } else {
      login.Secret = this._opts.secret ?? '';
    }
    if (this._opts.events !== undefined) login.Events = this._opts.events;
    if (resume && this.lastSeq !== null) login.WsResumeAfter = this.lastSeq;
    try {
      return await this._call(login, opts, 'send', true);
    } catch (err) {
      throw asLoginError(err);
    }
  }

  /** @param {any} data */
  _onMessage(data) {
    this._lastRx = this._now();
    const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
    /** @type {Record<string, string | string[]>} */
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      this._emit('error', { error: new AmiError('network', 'A message from the server is not JSON (use subprotocol ami-json)') });
      return;
    }
    if (msg === null || typeof msg !== 'object') return;
    const id = /** @type {string | undefined} */ (msg.ActionID);
    const p = id !== undefined ? this._pending.get(id) : undefined;
    if (msg.Event === undefined) {
      if (p && msg.Response !== undefined) this._onResponse(p, msg);
      return;
    }
    if (p) {
      if (p.kind === 'list' && p.response !== null && msg.WsSeq === undefined) {
        if (/^complete$/i.test(String(header(msg, 'EventList') ?? ''))) {
          p.resolve({ response: p.response, items: p.items, complete: msg });
        } else {
          p.items.push(msg);
        }
        return;
      }
    }
    const seq = /** @type {string | undefined} */ (msg.WsSeq);
    if (seq !== undefined) {
      if (this._firstOnSocket) {
        this._firstOnSocket = false;
        this._checkRestart(seq, text);
      }
      if (this.lastSeq !== null && seqCompare(seq, this.lastSeq) <= 0) return; // already delivered
      this.lastSeq = seq;
      this._recent.set(seq, text);
      if (this._recent.size > RECENT) this._recent.delete(/** @type {string} */ (this._recent.keys().next().value));
    }
    if (p && p.asyncOriginate && msg.Event === 'OriginateResponse') {
      // The call thread may answer before the action's own Response is written (Asterisk
      // acks after starting it): kept until the Response arrives.
      if (p.response !== null) settleOriginate(p, msg);
      else p.early = msg;
    }
    if (msg.Event === 'WsEventsLost') {
      const last = String(msg.LastLost);
      if (this.lastSeq === null || seqCompare(last, this.lastSeq) > 0) this.lastSeq = last;
      this._emit('lost', { firstLost: String(msg.FirstLost), lastLost: last, count: String(msg.Count) });
      this._emit('WsEventsLost', msg);
      return;
    }
    this._emit(String(msg.Event), msg);
    this._emit('*', msg);
    for (const it of [...this._iterators]) it.push(msg);
  }

  /**
   * The first numbered event on a new connection. The server resumes strictly after
   * WsResumeAfter, so a number at or below lastSeq is either a replay of an event we have
   * (the same text as we kept: a duplicate, dropped) or a new sequence: Asterisk or the module
   * restarted and numbers began again at 1. Then what was missed is unknown: a 'lost'
   * notification with `restarted: true`, and numbering starts over.
   * @param {string} seq @param {string} text
   */
  _checkRestart(seq, text) {
    if (this.lastSeq === null || seqCompare(seq, this.lastSeq) > 0) return;
    if (this._recent.get(seq) === text) return;
    this._recent.clear();
    this.lastSeq = null;
    this._emit('lost', { firstLost: '', lastLost: '', count: '', restarted: true });
  }

  /** @param {any} p @param {Record<string, string | string[]>} msg */
  _onResponse(p, msg) {
    const resp = String(header(msg, 'Response') ?? '');
    if (/^error$/i.test(resp)) {
      // Recorded at once: the server closes right after a refused login, possibly before the
      // login code sees this rejection.
      if (/^login$/i.test(p.name)) this._loginRefused = msg;
      p.reject(new AmiError('action', String(header(msg, 'Message') ?? 'Error'), msg));
      return;
    }
    if (p.kind === 'list') {
      if (/^start$/i.test(String(header(msg, 'EventList') ?? ''))) {
        p.response = msg;
      } else {
        p.resolve({ response: msg, items: [], complete: null });
      }
      return;
    }
    if (p.asyncOriginate) {
      p.response = msg;
      if (p.early) settleOriginate(p, p.early);
      return;
    }
    p.resolve(msg);
  }

  /** @param {string} why the socket is gone or dead: reject pending, maybe reconnect */
  _onDrop(why) {
    const ws = this._ws;
    this._ws = null;
    this._stopHeartbeat();
    if (ws) {
      ws.onmessage = null;
      ws.onclose = null;
      try {
        ws.close(4000, why.slice(0, 100));
      } catch {
        // gone already
      }
    }
    this._rejectAll(new AmiError('closed', `Connection lost (${why})`));
    if (this._closedByUser) return;
    if (!this._reconnect) {
      this._setState('closed');
      for (const it of [...this._iterators]) it.finish();
      return;
    }
    this._setState('reconnecting');
    this._attempt = 0;
    this._scheduleRetry();
  }

  /** The delay before reconnect attempt `n` (0-based): exponential, capped, minus jitter. */
  backoffDelay(n) {
    const r = /** @type {NonNullable<AmiClient['_reconnect']>} */ (this._reconnect ?? DEFAULTS.reconnect);
    const base = Math.min(r.maxDelay, r.initialDelay * r.factor ** n);
    return Math.round(base * (1 - r.jitter * this._random()));
  }

  _scheduleRetry() {
    const delay = this.backoffDelay(this._attempt);
    this._attempt++;
    this._retryTimer = this._setTimeout(async () => {
      this._retryTimer = null;
      if (this._closedByUser) return;
      try {
        await this._connectOnce(true);
      } catch (err) {
        if (this._closedByUser) return;
        const e = /** @type {AmiError} */ (err);
        if (e.code === 'auth') {
          this._emit('error', { error: e });
          this._setState('closed');
          for (const it of [...this._iterators]) it.finish();
          return;
        }
        this._scheduleRetry();
        return;
      }
      if (this._closedByUser) return;
      this._setState('open');
      this._emit('reconnected', { resumed: this.lastSeq !== null });
    }, delay);
  }

  _startHeartbeat() {
    if (!this._heartbeat) return;
    this._stopHeartbeat();
    const { interval, deadline } = this._heartbeat;
    const tick = () => {
      const idle = this._now() - this._lastRx;
      if (idle < interval) {
        this._hbTimer = this._setTimeout(tick, interval - idle);
        return;
      }
      const ws = this._ws;
      this._hbTimer = null;
      this._call({ Action: 'Ping' }, { timeout: deadline }, 'send', true).then(
        () => {
          if (this._ws === ws && this._hbTimer === null) this._hbTimer = this._setTimeout(tick, interval);
        },
        (err) => {
          if (this._ws !== ws || !ws) return;
          if (err.code === 'timeout') this._onDrop(`no answer to Ping within ${deadline} ms`);
          else if (err.code === 'busy' || err.code === 'action') this._hbTimer = this._setTimeout(tick, interval);
        },
      );
    };
    this._hbTimer = this._setTimeout(tick, interval);
  }

  _stopHeartbeat() {
    if (this._hbTimer !== null) this._clearTimeout(this._hbTimer);
    this._hbTimer = null;
  }
}

/** @param {any} err @returns {AmiError} a login failure: 'auth' for an AMI error answer */
function asLoginError(err) {
  if (err instanceof AmiError && err.code === 'action') {
    return new AmiError('auth', `Login failed: ${header(err.response ?? {}, 'Message') ?? 'Authentication failed'}`, err.response);
  }
  if (err instanceof AmiError && err.code === 'closed') return new AmiError('network', err.message);
  return err;
}

/**
 * Connects and logs in; resolves with the client once logged in.
 * @param {import('./ami-ws.js').ConnectOptions} options
 * @returns {Promise<AmiClient>}
 */
export function connect(options) {
  let client;
  try {
    client = new AmiClient(options);
  } catch (err) {
    return Promise.reject(err);
  }
  return client.open();
}

