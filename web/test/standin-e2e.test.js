// @ts-check
/**
 * @file End to end: ami-ws.js and PbxState against the real module (target/release
 * libres_ami_websocket.so) loaded in the stand-in core (target/release/asterisk-standin), over
 * a real WebSocket: Node's global one (Node 20 re-runs this file with --experimental-websocket),
 * or on a Node without one (Debian 12's Node 18) the minimal client in testkit/node-ws.js.
 * Needs `cargo build --release` first; skips with a message if the binaries are missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { freePort, rx, until } from '../testkit/standin.js';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, AmiError } from '../ami-ws.js';
import { PbxState } from '../pbx-state.js';
import { MiniWebSocket } from '../testkit/node-ws.js';

const here = dirname(fileURLToPath(import.meta.url));
const release = resolve(here, '../../target/release');
const standin = join(release, 'asterisk-standin');
const moduleSo = join(release, 'libres_ami_websocket.so');
const built = existsSync(standin) && existsSync(moduleSo);
const hasWs = typeof globalThis.WebSocket === 'function';

const flagged = process.allowedNodeEnvironmentFlags.has('--experimental-websocket');
if (!hasWs && flagged && !process.env.AMI_WS_E2E_CHILD) {
  // Node 20: the platform WebSocket exists behind a flag; run this file again with it.
  test('end to end against the stand-in (re-run with --experimental-websocket)', (t) => {
    if (!built) return t.skip(`skipped: ${standin} or ${moduleSo} not built (cargo build --release)`);
    const env = { ...process.env, AMI_WS_E2E_CHILD: '1' };
    delete env.NODE_TEST_CONTEXT; // else the child speaks the runner's internal protocol, not TAP
    const r = spawnSync(process.execPath, ['--experimental-websocket', '--test', '--test-reporter=tap', fileURLToPath(import.meta.url)], {
      env,
      encoding: 'utf8',
      timeout: 180000,
    });
    assert.equal(r.status, 0, `child run failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /# pass [1-9]/);
    assert.match(r.stdout, /# fail 0/);
  });
} else {
  test('end to end: MD5 login, list, events, async Originate, kick + resume, PbxState', { skip: built ? false : 'binaries not built (cargo build --release)' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ami-ws-e2e-'));
    const etc = join(dir, 'etc');
    const port = await freePort();
    const sock = join(dir, 'ctl.sock');
    spawnSync('mkdir', ['-p', etc, join(dir, 'modules')]);
    writeFileSync(
      join(etc, 'manager.conf'),
      '[general]\nenabled = yes\nbindaddr = 127.0.0.1\ntimestampevents = yes\n\n[demo]\nsecret = demo\nread = all\nwrite = all\n\n[viewer]\nsecret = viewer\nread = all\nwrite = reporting\n',
    );
    writeFileSync(join(etc, 'ami_websocket.conf'), `[general]\nbindaddr = 127.0.0.1\nbindport = ${port}\nallow_missing_origin = yes\n`);
    const child = spawn(standin, ['--config-dir', etc, '--moddir', join(dir, 'modules'), '--module', moduleSo, '--control', sock, '--verbose', '0', '--load'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    /** @type {import('../ami-ws.js').AmiClient[]} */
    const clients = [];
    try {
      await until(async () => existsSync(sock) && (await rx(sock, 'module show like res_ami_websocket').catch(() => '')).includes('Running'), 60000, 'the stand-in and module');
      const url = `ws://127.0.0.1:${port}/ami`;
      // The platform's WebSocket, or (Node 18: none) the test's minimal one.
      const WebSocket = hasWs ? undefined : MiniWebSocket;
      const opts = { url, username: 'demo', secret: 'demo', WebSocket, reconnect: { initialDelay: 50, maxDelay: 200, factor: 2, jitter: 0 }, heartbeat: { interval: 2000, deadline: 2000 } };

      // Bad credentials: one rejection with code auth (after AMI's one-second delay).
      const bad = await connect({ ...opts, secret: 'nope' }).then(() => null, (e) => e);
      assert.ok(bad instanceof AmiError);
      assert.equal(bad.code, 'auth');

      const client = await connect(opts); // MD5 by default
      clients.push(client);
      assert.equal(client.state, 'open');
      const plain = await connect({ ...opts, auth: 'plain' });
      clients.push(plain);

      const pong = await client.send({ Action: 'Ping' });
      assert.equal(pong.Response, 'Success');
      const cs = await client.list({ Action: 'CoreShowChannels' });
      assert.equal(cs.complete?.Event, 'CoreShowChannelsComplete');
      assert.equal(cs.complete?.ListItems, String(cs.items.length));
      const err = await client.send({ Action: 'NoSuchAction' }).then(() => null, (e) => e);
      assert.equal(err.code, 'action');

      // Events: UserEvents raised by the other client arrive once each, with WsSeq.
      /** @type {string[]} */
      const got = [];
      client.on('UserEvent', (ev) => {
        if (ev.UserEvent === 'E2E') got.push(String(ev.N));
      });
      for (let i = 0; i < 5; i++) await plain.send({ Action: 'UserEvent', UserEvent: 'E2E', N: String(i) });
      await until(() => got.length === 5, 5000, 'five UserEvents');
      assert.ok(client.lastSeq !== null);

      // Kick the client's connection (ws kick); events raised meanwhile arrive after the resume, once.
      const reconnected = new Promise((r) => client.on('reconnected', r));
      const clientsList = await rx(sock, 'ws show clients');
      const ids = [...clientsList.matchAll(/^\s*(\d+)\s/gm)].map((m) => m[1]);
      assert.ok(ids.length >= 2, clientsList);
      // The client that logged in first has the lowest id among the two still connected.
      const kicked = await rx(sock, `ws kick ${ids.sort((a, b) => Number(a) - Number(b))[0]}`);
      assert.doesNotMatch(kicked, /error|No such/i, kicked);
      for (let i = 5; i < 10; i++) await plain.send({ Action: 'UserEvent', UserEvent: 'E2E', N: String(i) });
      const r = await reconnected;
      assert.deepEqual(r, { resumed: true });
      await until(() => got.length >= 10, 5000, 'the UserEvents sent while away');
      await new Promise((res) => setTimeout(res, 200));
      assert.deepEqual(got, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], 'none lost, none twice');

      // Async Originate resolves with its OriginateResponse (matched by ActionID).
      const orig = await client.send({ Action: 'Originate', Channel: 'Local/park@default', Context: 'default', Exten: 'echo', Priority: '1', Async: 'true' }, { timeout: 15000 });
      assert.equal(orig.Event, 'OriginateResponse');
      assert.equal(orig.Response, 'Success');

      // Refused client-side: nothing with CR/LF reaches the module.
      assert.equal((await client.send({ Action: 'Ping', ActionID: 'a\r\nAction: Originate' }).catch((e) => e)).code, 'invalid');

      // PbxState takes its snapshot against the module (lists the stand-in lacks are skipped).
      const pbx = new PbxState(client);
      await pbx.start();
      assert.equal(pbx.snapshots, 1);
      assert.ok(pbx.can('CoreShowChannels'));
      const viewer = await connect({ ...opts, username: 'viewer', secret: 'viewer' });
      clients.push(viewer);
      const vstate = new PbxState(viewer);
      await vstate.start();
      assert.equal(vstate.can('Originate'), false, 'viewer (write reporting) may not originate');
      assert.equal(vstate.can('Hangup'), false);
      pbx.stop();
      vstate.stop();
    } catch (e) {
      throw new Error(`${/** @type {Error} */ (e).stack}\n--- stand-in log ---\n${log.slice(-4000)}`);
    } finally {
      for (const c of clients) c.close();
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 100));
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
