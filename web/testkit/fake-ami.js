// @ts-check
/**
 * @file An in-process fake of res_ami_websocket for tests: a WebSocket constructor to inject and
 * a server that speaks the module's ami-json protocol (README "The protocol"): Challenge/Login
 * (MD5 checked with node:crypto, not with our md5.js), WsSeq on events, a ring with resume and
 * WsEventsLost, list actions answered as Response + items (no WsSeq) + Complete, and a manual
 * clock for timers.
 */
import { createHash } from 'node:crypto';

/** A manual clock: timers run only when the test advances time. */
export class FakeClock {
  constructor() {
    this.t = 0;
    this.seq = 0;
    /** @type {Map<number, {at: number, fn: () => void}>} */
    this.timers = new Map();
    this.setTimeout = (/** @type {() => void} */ fn, /** @type {number} */ ms) => {
      const id = ++this.seq;
      this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
      return id;
    };
    this.clearTimeout = (/** @type {number} */ id) => {
      this.timers.delete(id);
    };
    this.now = () => this.t;
  }

  /** Advances time by `ms`, running due timers in order and letting promises settle between. */
  async advance(ms) {
    const end = this.t + ms;
    await flush();
    for (;;) {
      let next = null;
      for (const [id, tm] of this.timers) {
        if (tm.at <= end && (next === null || tm.at < next[1].at || (tm.at === next[1].at && id < next[0]))) {
          next = [id, tm];
        }
      }
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

/** Lets queued microtasks and immediates run. */
export async function flush() {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/**
 * The fake server. `server.WebSocket` is the constructor to pass to connect().
 */
export class FakeAmi {
  /**
   * @param {{users?: Record<string, string>, ringSize?: number, challenge?: string}} [opts]
   */
  constructor(opts = {}) {
    this.users = opts.users ?? { demo: 'demo' };
    this.ringSize = opts.ringSize ?? 1000;
    this.challenge = opts.challenge ?? '123456789';
    this.seq = 0;
    /** @type {Record<string, string | string[]>[]} */
    this.ring = [];
    /** @type {FakeSocket[]} */
    this.sockets = [];
    /** every action any socket sent, in order */
    /** @type {Record<string, string | string[]>[]} */
    this.received = [];
    /** while true, new connections fail (the server is down) */
    this.down = false;
    /** while true, new connections never open (a black-holed address) */
    this.hang = false;
    /** replay this many already-seen events on resume (a server that resends: tests dedupe) */
    this.resumeOverlap = 0;
    /** @type {Map<string, (msg: any, sock: FakeSocket) => any[] | null>} answers by action name (lower case) */
    this.handlers = new Map();
    this.handle('ping', (m) => [resp(m, 'Success', { Ping: 'Pong', Timestamp: '1.0' })]);
    const server = this;
    /** The WebSocket constructor bound to this server. */
    this.WebSocket = class extends FakeSocket {
      /** @param {string} url @param {string | string[]} [protocols] */
      constructor(url, protocols) {
        super(server, url, protocols);
      }
    };
  }

  /**
   * Sets the answer for an action: a function returning the messages to send back.
   * @param {string} action
   * @param {(msg: any, sock: FakeSocket) => any[] | null} fn
   */
  handle(action, fn) {
    this.handlers.set(action.toLowerCase(), fn);
  }

  /** Answers a list action with a Response, the items (no WsSeq) and the Complete event. */
  list(action, itemsFn, completeName) {
    this.handle(action, (m) => {
      const items = itemsFn(m);
      const id = m.ActionID;
      return [
        { Response: 'Success', ActionID: id, EventList: 'start', Message: 'Will follow' },
        ...items.map((it) => ({ ...it, ActionID: id })),
        { Event: completeName, ActionID: id, EventList: 'Complete', ListItems: String(items.length) },
      ];
    });
  }

  /** Raises a live event: numbered, kept in the ring, sent to every logged-in socket. */
  emit(ev) {
    this.seq++;
    const full = { ...ev, WsSeq: String(this.seq) };
    this.ring.push(full);
    if (this.ring.length > this.ringSize) this.ring.shift();
    for (const s of this.sockets) if (s.loggedIn && s.readyState === 1) s.deliver(full);
    return full;
  }

  /** The last socket opened. */
  get last() {
    return this.sockets[this.sockets.length - 1];
  }

  /** Logged-in sockets still open. */
  get live() {
    return this.sockets.filter((s) => s.readyState === 1 && s.loggedIn);
  }
}

/** @param {any} m @param {string} r @param {Record<string, string>} [extra] */
export function resp(m, r, extra = {}) {
  return { Response: r, ...(m.ActionID !== undefined ? { ActionID: m.ActionID } : {}), ...extra };
}

/** One client connection of the fake server, with the browser WebSocket surface. */
export class FakeSocket {
  /** @param {FakeAmi} server @param {string} url @param {string | string[]} [protocols] */
  constructor(server, url, protocols) {
    this.server = server;
    this.url = url;
    this.protocol = Array.isArray(protocols) ? protocols[0] : protocols;
    this.readyState = 0;
    this.loggedIn = false;
    this.username = null;
    this.challenge = null;
    /** ignore every message from the client (a dead peer) */
    this.silent = false;
    /** @type {Record<string, string | string[]>[]} */
    this.received = [];
    /** @type {any} */ this.onopen = null;
    /** @type {any} */ this.onmessage = null;
    /** @type {any} */ this.onclose = null;
    /** @type {any} */ this.onerror = null;
    server.sockets.push(this);
    queueMicrotask(() => {
      if (server.hang) return;
      if (server.down) {
        this.readyState = 3;
        this.onerror?.({ type: 'error' });
        this.onclose?.({ code: 1006, reason: '' });
        return;
      }
      this.readyState = 1;
      this.onopen?.({ type: 'open' });
    });
  }

  /** @param {string} data */
  send(data) {
    if (this.readyState !== 1) throw new Error('InvalidStateError: not open');
    const msg = JSON.parse(data);
    this.received.push(msg);
    this.server.received.push(msg);
    if (this.silent) return;
    queueMicrotask(() => this.answer(msg));
  }

  /** @param {number} [code] @param {string} [reason] closes from the client side */
  close(code = 1000, reason = '') {
    if (this.readyState >= 2) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code, reason }));
  }

  /** Drops the connection from the server side (like a network failure: code 1006). */
  kill(code = 1006) {
    if (this.readyState >= 2) return;
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }

  /** @param {any} msg sends one message to the client */
  deliver(msg) {
    if (this.readyState !== 1) return;
    this.onmessage?.({ data: JSON.stringify(msg) });
  }

  /** @param {any} m */
  answer(m) {
    if (this.readyState !== 1) return;
    const action = String(m.Action ?? '').toLowerCase();
    if (!this.loggedIn) {
      if (action === 'challenge') {
        this.challenge = this.server.challenge;
        this.deliver(resp(m, 'Success', { Challenge: this.challenge }));
        return;
      }
      if (action === 'login') {
        const secret = this.server.users[m.Username];
        const ok =
          secret !== undefined &&
          (String(m.AuthType ?? '').toLowerCase() === 'md5'
            ? this.challenge !== null && m.Key === createHash('md5').update(this.challenge + secret).digest('hex')
            : m.Secret === secret);
        if (!ok) {
          this.deliver(resp(m, 'Error', { Message: 'Authentication failed' }));
          this.kill(1008);
          return;
        }
        this.loggedIn = true;
        this.username = m.Username;
        this.deliver(resp(m, 'Success', { Message: 'Authentication accepted' }));
        this.deliver({ Event: 'FullyBooted', Privilege: 'system,all', Uptime: '1', LastReload: '1', Status: 'Fully Booted' });
        if (m.WsResumeAfter !== undefined) this.resume(Number(m.WsResumeAfter));
        return;
      }
      this.deliver(resp(m, 'Error', { Message: 'Permission denied' }));
      return;
    }
    const fn = this.server.handlers.get(action);
    if (!fn) {
      this.deliver(resp(m, 'Error', { Message: `Invalid/unknown command: ${m.Action}. Use Action: ListCommands to show available commands.` }));
      return;
    }
    const out = fn(m, this);
    if (out) for (const o of out) this.deliver(o);
  }

  /** @param {number} after replays the ring after `after`, reporting what it no longer has */
  resume(after) {
    const ring = this.server.ring;
    const from = Math.max(0, after - this.server.resumeOverlap);
    const oldest = ring.length ? Number(ring[0].WsSeq) : this.server.seq + 1;
    if (oldest > after + 1 && after < this.server.seq) {
      const last = Math.min(oldest - 1, this.server.seq);
      this.deliver({ Event: 'WsEventsLost', FirstLost: String(after + 1), LastLost: String(last), Count: String(last - after) });
    }
    for (const ev of ring) if (Number(ev.WsSeq) > from) this.deliver(ev);
  }
}
