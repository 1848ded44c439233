// @ts-check
/**
 * @file A minimal WebSocket client (RFC 6455, text frames only) with the browser WebSocket
 * surface, over node:http, for the end-to-end test on a Node without a global WebSocket
 * (Debian 12's Node 18). Test support only; the library uses the platform's WebSocket.
 */
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';

export class MiniWebSocket {
  /** @param {string} url ws://host:port/path @param {string | string[]} [protocols] */
  constructor(url, protocols) {
    const u = new URL(url);
    if (u.protocol !== 'ws:') throw new Error('MiniWebSocket speaks ws:// only');
    this.url = url;
    this.readyState = 0;
    this.protocol = '';
    /** @type {any} */ this.onopen = null;
    /** @type {any} */ this.onmessage = null;
    /** @type {any} */ this.onclose = null;
    /** @type {any} */ this.onerror = null;
    /** @type {import('node:net').Socket | null} */
    this.socket = null;
    this.buf = Buffer.alloc(0);
    /** @type {Buffer[]} */
    this.fragments = [];
    this.closed = false;
    const proto = Array.isArray(protocols) ? protocols.join(', ') : protocols;
    const req = request({
      host: u.hostname,
      port: u.port || 80,
      path: u.pathname + u.search,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        'Sec-WebSocket-Version': '13',
        ...(proto ? { 'Sec-WebSocket-Protocol': proto } : {}),
      },
    });
    req.on('upgrade', (res, socket, head) => {
      this.socket = socket;
      this.protocol = String(res.headers['sec-websocket-protocol'] ?? '');
      this.readyState = 1;
      socket.on('data', (d) => this.onData(d));
      socket.on('close', () => this.finish(1006));
      socket.on('error', () => this.finish(1006));
      this.onopen?.({ type: 'open' });
      if (head.length) this.onData(head);
    });
    req.on('response', () => {
      this.onerror?.({ type: 'error' });
      this.finish(1006);
    });
    req.on('error', () => {
      this.onerror?.({ type: 'error' });
      this.finish(1006);
    });
    req.end();
  }

  /** @param {string} text */
  send(text) {
    if (this.readyState !== 1) throw new Error('InvalidStateError: not open');
    this.frame(1, Buffer.from(text, 'utf8'));
  }

  /** @param {number} [code] @param {string} [reason] */
  close(code = 1000, reason = '') {
    if (this.readyState >= 2) return;
    if (this.readyState === 1 && this.socket) {
      const body = Buffer.concat([Buffer.from([code >> 8, code & 255]), Buffer.from(reason, 'utf8')]);
      this.frame(8, body);
      this.readyState = 2;
      setTimeout(() => this.socket?.destroy(), 1000).unref();
    } else {
      this.finish(code);
    }
  }

  /** @param {number} opcode @param {Buffer} payload a masked frame, as a client must send */
  frame(opcode, payload) {
    const mask = randomBytes(4);
    const len = payload.length;
    const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len]) : len < 65536 ? Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 255]) : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), bigLen(len)]);
    const body = Buffer.alloc(len);
    for (let i = 0; i < len; i++) body[i] = payload[i] ^ mask[i & 3];
    this.socket?.write(Buffer.concat([head, mask, body]));
  }

  /** @param {Buffer} d */
  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length < 2) return;
      const fin = (this.buf[0] & 0x80) !== 0;
      const opcode = this.buf[0] & 0x0f;
      let len = this.buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return;
      const payload = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      if (opcode === 8) {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        if (this.readyState === 1) this.frame(8, payload.subarray(0, 2));
        this.socket?.end();
        this.finish(code);
        return;
      }
      if (opcode === 9) this.frame(10, Buffer.from(payload));
      if (opcode === 1 || opcode === 0) {
        this.fragments.push(Buffer.from(payload));
        if (fin) {
          const data = Buffer.concat(this.fragments).toString('utf8');
          this.fragments = [];
          this.onmessage?.({ data });
        }
      }
    }
  }

  /** @param {number} code */
  finish(code) {
    if (this.closed) return;
    this.closed = true;
    this.readyState = 3;
    this.socket?.destroy();
    this.onclose?.({ code, reason: '' });
  }
}

/** @param {number} n @returns {Buffer} 8-byte big-endian length */
function bigLen(n) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
