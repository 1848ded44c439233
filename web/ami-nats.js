// @ts-check
/**
 * @file ami-nats: read the AMI event stream that res_ami_websocket publishes to NATS
 * (`[nats]` in ami_websocket.conf) from NATS's own WebSocket listener, in browsers and Node 20+.
 * One reader may follow several NATS servers or clusters (one per site) and merges their
 * streams; every event is tagged with the PBX it came from. Dependency-free: the small
 * subscribe side of the NATS client protocol, spoken over WebSocket.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The text of one subject token as the module escapes it (`%XX` for every byte outside
 * `A-Z a-z 0-9 _ -`), decoded.
 * @param {string} token
 * @returns {string}
 */
export function unescapeToken(token) {
  if (!token.includes('%')) return token;
  const bytes = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '%' && /^[0-9A-F]{2}$/i.test(token.slice(i + 1, i + 3))) {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(token.charCodeAt(i));
    }
  }
  return decoder.decode(new Uint8Array(bytes));
}

/**
 * Splits a subject `<prefix...>.<system>.<category>.<Event>` into its parts.
 * @param {string} subject
 * @returns {{system: string, category: string, event: string}}
 */
export function parseSubject(subject) {
  const t = subject.split('.');
  const n = t.length;
  return {
    system: unescapeToken(t[n - 3] ?? ''),
    category: t[n - 2] ?? '',
    event: unescapeToken(t[n - 1] ?? ''),
  };
}

/** Finds CRLF in `buf` from `from`; -1 when absent. @param {Uint8Array} buf @param {number} from */
function crlf(buf, from) {
  for (let i = from; i + 1 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10) return i;
  }
  return -1;
}

/**
 * An incremental parser of what a NATS server sends; yields `{op, args, payload}`.
 */
export class NatsParser {
  constructor() {
    /** @type {Uint8Array} */
    this.buf = new Uint8Array(0);
  }

  /**
   * Adds bytes; returns every complete operation.
   * @param {Uint8Array} chunk
   * @returns {Array<{op: string, args: string[], headers?: string, payload?: Uint8Array}>}
   */
  push(chunk) {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    this.buf = joined;
    const out = [];
    let pos = 0;
    for (;;) {
      const eol = crlf(this.buf, pos);
      if (eol < 0) break;
      const line = decoder.decode(this.buf.subarray(pos, eol));
      const [op, ...args] = line.split(/\s+/).filter(Boolean);
      const upper = (op ?? '').toUpperCase();
      if (upper === 'MSG' || upper === 'HMSG') {
        const total = Number(args[args.length - 1]);
        const hdr = upper === 'HMSG' ? Number(args[args.length - 2]) : 0;
        const start = eol + 2;
        if (this.buf.length < start + total + 2) break;
        const body = this.buf.subarray(start, start + total);
        out.push({
          op: upper,
          args,
          headers: decoder.decode(body.subarray(0, hdr)),
          payload: body.slice(hdr),
        });
        pos = start + total + 2;
      } else {
        out.push({ op: upper, args: [line.slice((op ?? '').length).trim()] });
        pos = eol + 2;
      }
    }
    this.buf = this.buf.slice(pos);
    return out;
  }
}

/**
 * Follows the AMI event streams of one or more NATS servers over WebSocket and merges them.
 * Dispatches `event` (detail: `{system, category, subject, server, event}`, `event` being the
 * module's ami-json object), `state` (detail: `{server, state}`) and `error`.
 */
export class NatsEvents extends EventTarget {
  /**
   * @param {object} options
   * @param {string[]} options.servers NATS WebSocket URLs, e.g. `wss://nats.example.com:8443`
   * @param {string} [options.subject] subject to follow (default `ami.>`: every PBX, every event)
   * @param {{user?: string, pass?: string, token?: string}} [options.auth]
   * @param {typeof WebSocket} [options.WebSocket] constructor (default globalThis.WebSocket)
   * @param {number} [options.reconnectDelay] ms before reconnecting a dropped server (default 1000)
   */
  constructor({ servers, subject = 'ami.>', auth = {}, WebSocket: Ctor, reconnectDelay = 1000 }) {
    super();
    const WS = Ctor ?? globalThis.WebSocket;
    if (typeof WS !== 'function') throw new TypeError('no WebSocket constructor');
    if (!Array.isArray(servers) || servers.length === 0) throw new TypeError('servers: a list of URLs');
    this.subject = subject;
    this.auth = auth;
    this.WS = WS;
    this.reconnectDelay = reconnectDelay;
    this.closed = false;
    /** @type {Map<string, WebSocket>} */
    this.sockets = new Map();
    /** Last WsSeq seen per system and module load, to drop duplicates after a reconnect. */
    /** @type {Map<string, number>} */
    this.lastSeq = new Map();
    for (const url of servers) this.#open(url);
  }

  /** @param {string} url */
  #open(url) {
    if (this.closed) return;
    const ws = new this.WS(url);
    ws.binaryType = 'arraybuffer';
    const parser = new NatsParser();
    this.sockets.set(url, ws);
    /** @param {string} text */
    const send = (text) => ws.send(encoder.encode(text));
    ws.onmessage = (m) => {
      const bytes = typeof m.data === 'string' ? encoder.encode(m.data) : new Uint8Array(m.data);
      for (const op of parser.push(bytes)) {
        if (op.op === 'INFO') {
          const connect = { verbose: false, pedantic: false, lang: 'js-ami-nats', version: '0.1.0',
            protocol: 1, headers: true, ...this.auth };
          send(`CONNECT ${JSON.stringify(connect)}\r\nSUB ${this.subject} 1\r\nPING\r\n`);
        } else if (op.op === 'PONG') {
          this.#state(url, 'open');
        } else if (op.op === 'PING') {
          send('PONG\r\n');
        } else if (op.op === '-ERR') {
          this.dispatchEvent(new CustomEvent('error', { detail: { server: url, message: op.args[0] } }));
        } else if (op.op === 'MSG' || op.op === 'HMSG') {
          this.#deliver(url, op.args[0], op.headers ?? '', op.payload ?? new Uint8Array(0));
        }
      }
    };
    ws.onclose = () => {
      this.sockets.delete(url);
      this.#state(url, 'closed');
      if (!this.closed) setTimeout(() => this.#open(url), this.reconnectDelay);
    };
    ws.onerror = () => {};
  }

  /** @param {string} server @param {string} state */
  #state(server, state) {
    this.dispatchEvent(new CustomEvent('state', { detail: { server, state } }));
  }

  /**
   * @param {string} server
   * @param {string} subject
   * @param {string} headers the NATS headers block (`Nats-Msg-Id: <system>-<instance>-<seq>`)
   * @param {Uint8Array} payload
   */
  #deliver(server, subject, headers, payload) {
    let event;
    try {
      event = JSON.parse(decoder.decode(payload));
    } catch {
      return;
    }
    const { system, category } = parseSubject(subject);
    const name = event.SystemName ?? system;
    // WsSeq restarts at 1 when the module is loaded again; the message id names the load.
    const id = /^Nats-Msg-Id:\s*(\S+)/im.exec(headers)?.[1] ?? '';
    const stream = `${name}/${id.split('-').slice(0, -1).join('-')}`;
    const seq = Number(event.WsSeq);
    const last = this.lastSeq.get(stream);
    if (Number.isFinite(seq) && last !== undefined && seq <= last) return;
    if (Number.isFinite(seq)) this.lastSeq.set(stream, seq);
    this.dispatchEvent(new CustomEvent('event', {
      detail: { system: name, category, subject, server, event },
    }));
  }

  /** Stops following every server. */
  close() {
    this.closed = true;
    for (const ws of this.sockets.values()) ws.close();
    this.sockets.clear();
  }
}
