// @ts-check
/**
 * @file ami-nats.js: the NATS parser and subject decoding, then end to end: two PBXs (two
 * stand-in cores, each with the real module publishing to NATS under its own system name), one
 * real nats-server with its WebSocket listener, and one NatsEvents reader merging both streams
 * with every event tagged by system. Needs `cargo build --release` and Debian's nats-server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { freePort, rx, until } from '../testkit/standin.js';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NatsParser, NatsEvents, parseSubject, unescapeToken } from '../ami-nats.js';

const here = dirname(fileURLToPath(import.meta.url));
const release = resolve(here, '../../target/release');
const standin = join(release, 'asterisk-standin');
const moduleSo = join(release, 'libres_ami_websocket.so');
const natsServer = ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((p) => existsSync(p));
const ready = existsSync(standin) && existsSync(moduleSo) && natsServer !== undefined;
const hasWs = typeof globalThis.WebSocket === 'function';

test('subject tokens are unescaped as the module escapes them', () => {
  assert.equal(unescapeToken('pbx1%2Eexample%2Ecom'), 'pbx1.example.com');
  assert.equal(unescapeToken('%C3%A9t%C3%A9'), 'été');
  assert.equal(unescapeToken('plain-name_1'), 'plain-name_1');
  assert.deepEqual(parseSubject('site.ami.pbx%201.call.Newchannel'), {
    system: 'pbx 1',
    category: 'call',
    event: 'Newchannel',
  });
});

test('the parser handles operations split anywhere and messages with headers', () => {
  const headers = 'NATS/1.0\r\nA: b\r\n\r\n';
  const text = `INFO {"x":1}\r\nPING\r\nMSG a.b 1 5\r\nhello\r\nHMSG c.d 1 r ${headers.length} ${headers.length + 2}\r\n${headers}hi\r\n`;
  const bytes = new TextEncoder().encode(text);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const p = new NatsParser();
    const ops = [...p.push(bytes.subarray(0, cut)), ...p.push(bytes.subarray(cut))];
    assert.deepEqual(ops.map((o) => o.op), ['INFO', 'PING', 'MSG', 'HMSG'], `cut ${cut}`);
    assert.equal(new TextDecoder().decode(ops[2].payload), 'hello');
    assert.equal(ops[3].headers, headers);
    assert.equal(new TextDecoder().decode(ops[3].payload), 'hi');
  }
});

const flagged = process.allowedNodeEnvironmentFlags.has('--experimental-websocket');
if (!hasWs && flagged && !process.env.AMI_NATS_E2E_CHILD) {
  test('two PBXs merged through NATS (re-run with --experimental-websocket)', (t) => {
    if (!ready) return t.skip('binaries or nats-server missing');
    const env = { ...process.env, AMI_NATS_E2E_CHILD: '1' };
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync(process.execPath, ['--experimental-websocket', '--test', '--test-reporter=tap', fileURLToPath(import.meta.url)], { env, encoding: 'utf8', timeout: 180000 });
    assert.equal(r.status, 0, `child run failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /# fail 0/);
  });
} else {
  test('two PBXs merged through NATS, every event tagged by system', { skip: ready && hasWs ? false : 'needs the release build, nats-server and a WebSocket' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ami-nats-'));
    const natsPort = await freePort();
    const wsPort = await freePort();
    writeFileSync(join(dir, 'nats.conf'), `listen: 127.0.0.1:${natsPort}\nwebsocket { listen: "127.0.0.1:${wsPort}", no_tls: true }\n`);
    /** @type {import('node:child_process').ChildProcess[]} */
    const children = [spawn(/** @type {string} */ (natsServer), ['-c', join(dir, 'nats.conf')], { stdio: 'ignore' })];
    /** @type {NatsEvents | undefined} */
    let reader;
    try {
      /** @type {string[]} */
      const socks = [];
      for (const system of ['pbx-east', 'pbx.west']) {
        const etc = join(dir, system, 'etc');
        mkdirSync(join(dir, system, 'modules'), { recursive: true });
        mkdirSync(etc, { recursive: true });
        writeFileSync(join(etc, 'manager.conf'), '[general]\nenabled = yes\nbindaddr = 127.0.0.1\n');
        writeFileSync(join(etc, 'ami_websocket.conf'), `[general]\nbindaddr = 127.0.0.1\nbindport = ${await freePort()}\n\n[nats]\nenabled = yes\nurl = nats://127.0.0.1:${natsPort}\nsystem_name = ${system}\n`);
        const sock = join(dir, system, 'ctl.sock');
        socks.push(sock);
        children.push(spawn(standin, ['--config-dir', etc, '--moddir', join(dir, system, 'modules'), '--module', moduleSo, '--control', sock, '--verbose', '0', '--load'], { stdio: 'ignore' }));
      }
      for (const sock of socks) {
        await until(async () => existsSync(sock) && (await rx(sock, 'ws show nats').catch(() => '')).includes('publisher:      connected'), 60000, 'a publisher connected');
      }
      reader = new NatsEvents({ servers: [`ws://127.0.0.1:${wsPort}`], subject: 'ami.*.user.UserEvent' });
      /** @type {Map<string, string[]>} */
      const bySystem = new Map();
      reader.addEventListener('event', (e) => {
        const { system, event } = /** @type {CustomEvent} */ (e).detail;
        if (event.UserEvent !== 'Burst') return;
        bySystem.set(system, [...(bySystem.get(system) ?? []), event.Seq]);
      });
      await new Promise((r) => reader?.addEventListener('state', (e) => /** @type {CustomEvent} */ (e).detail.state === 'open' && r(null)));
      // NATS applies the SUB before answering our PING: events from now on are ours.
      await rx(socks[0], 'traffic burst 20 0');
      await rx(socks[1], 'traffic burst 30 0');
      await until(() => (bySystem.get('pbx-east')?.length ?? 0) === 20 && (bySystem.get('pbx.west')?.length ?? 0) === 30, 15000, 'both streams');
      assert.deepEqual(bySystem.get('pbx-east'), Array.from({ length: 20 }, (_, i) => String(i)));
      assert.deepEqual(bySystem.get('pbx.west'), Array.from({ length: 30 }, (_, i) => String(i)));
    } finally {
      reader?.close();
      for (const c of children) c.kill('SIGKILL');
    }
  });
}
