// @ts-check
/**
 * @file Helpers for node tests that drive the stand-in core: a free loopback port, one CLI
 * command over its control socket, and waiting for a condition.
 */
import { createConnection, createServer } from 'node:net';

/** @returns {Promise<number>} a TCP port free right now on 127.0.0.1 */
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

/** @param {string} sock @param {string} cmd @returns {Promise<string>} one stand-in CLI command */
export function rx(sock, cmd) {
  return new Promise((res, rej) => {
    const c = createConnection(sock);
    let out = '';
    c.setEncoding('utf8');
    c.on('connect', () => c.write(`${cmd}\n`));
    c.on('data', (d) => (out += d));
    c.on('end', () => res(out));
    c.on('error', rej);
  });
}

/** @param {() => boolean | Promise<boolean>} cond @param {number} ms @param {string} what */
export async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}
