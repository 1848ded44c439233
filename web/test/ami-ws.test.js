// @ts-check
/** @file ami-ws.js against the in-process fake server (fake-ami.js) with a manual clock. */
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { connect, AmiClient, AmiError, validateAction } from '../ami-ws.js';
import { FakeAmi, FakeClock, flush, resp } from '../testkit/fake-ami.js';

/** @param {FakeAmi} server @param {FakeClock} clock @param {object} [extra] */
function opts(server, clock, extra = {}) {
  return {
    url: 'ws://fake/ami',
    username: 'demo',
    secret: 'demo',
    WebSocket: server.WebSocket,
    clock,
    random: () => 0.5,
    heartbeat: /** @type {false} */ (false),
    ...extra,
  };
}

/** Resolves the promise while advancing the fake clock until it settles (or `maxMs` pass). */
async function settle(promise, clock, maxMs = 60000, step = 100) {
  let done = false;
  const p = promise.then(
    (v) => ((done = true), { ok: true, v }),
    (e) => ((done = true), { ok: false, e }),
  );
  for (let t = 0; !done && t < maxMs; t += step) await clock.advance(step);
  return p;
}

test('MD5 login: Challenge, then Login with the key the server checks with node:crypto', async () => {
  const server = new FakeAmi({ users: { demo: 'demo' }, challenge: '987654321' });
  const clock = new FakeClock();
  const client = await connect(opts(server, clock));
  assert.equal(client.state, 'open');
  const [ch, login] = server.received;
  assert.equal(ch.Action, 'Challenge');
  assert.equal(ch.AuthType, 'MD5');
  assert.equal(login.Action, 'Login');
  assert.equal(login.AuthType, 'MD5');
  assert.equal(login.Key, createHash('md5').update('987654321demo').digest('hex'));
  assert.equal(login.Secret, undefined, 'the secret never goes on the wire');
  assert.ok(server.last.loggedIn);
  client.close();
});

test('plain login sends Secret', async () => {
  const server = new FakeAmi({ users: { u: 'pw' } });
  const client = await connect(opts(server, new FakeClock(), { auth: 'plain', username: 'u', secret: 'pw' }));
  assert.deepEqual(
    server.received.map((m) => m.Action),
    ['Login'],
  );
  assert.equal(server.received[0].Secret, 'pw');
  client.close();
  assert.equal(client.state, 'closed');
});

test('bad credentials reject once with code auth and never retry', async () => {
  for (const auth of ['md5', 'plain']) {
    const server = new FakeAmi({ users: { demo: 'right' } });
    const clock = new FakeClock();
    const err = await connect(opts(server, clock, { auth, secret: 'wrong', reconnect: { initialDelay: 10 } })).then(
      () => null,
      (e) => e,
    );
    assert.ok(err instanceof AmiError);
    assert.equal(err.code, 'auth', auth);
    assert.match(err.message, /Authentication failed/);
    await clock.advance(120000);
    assert.equal(server.sockets.length, 1, 'no reconnect loop');
  }
});

test('first connect failing is a network error, not a retry loop', async () => {
  const server = new FakeAmi();
  server.down = true;
  const clock = new FakeClock();
  const err = await connect(opts(server, clock)).then(() => null, (e) => e);
  assert.equal(err?.code, 'network');
  await clock.advance(120000);
  assert.equal(server.sockets.length, 1);
});

test('send resolves with the response; Response: Error rejects with code action and the response', async () => {
  const server = new FakeAmi();
  const client = await connect(opts(server, new FakeClock()));
  const pong = await client.send({ Action: 'Ping' });
  assert.equal(pong.Response, 'Success');
  assert.equal(pong.Ping, 'Pong');
  const err = await client.send({ Action: 'NoSuchThing' }).then(() => null, (e) => e);
  assert.equal(err.code, 'action');
  assert.equal(err.response.Response, 'Error');
  assert.match(err.message, /Invalid\/unknown command/);
  client.close();
});

test('list collects items by ActionID; live events of the same name go to listeners, not into the list', async () => {
  const server = new FakeAmi();
  const client = await connect(opts(server, new FakeClock()));
  server.handle('ExtensionStateList', (m) => {
    const id = m.ActionID;
    // A live ExtensionStatus (no ActionID, with WsSeq) arrives in the middle of the list.
    const live = { Event: 'ExtensionStatus', Exten: '100', Context: 'default', Status: '1', WsSeq: String(++server.seq) };
    return [
      { Response: 'Success', ActionID: id, EventList: 'start', Message: 'Extension Statuses will follow' },
      { Event: 'ExtensionStatus', ActionID: id, Exten: '100', Context: 'default', Status: '0' },
      live,
      { Event: 'ExtensionStatus', ActionID: id, Exten: '101', Context: 'default', Status: '0' },
      { Event: 'ExtensionStateListComplete', ActionID: id, EventList: 'Complete', ListItems: '2' },
    ];
  });
  /** @type {any[]} */
  const seen = [];
  const all = [];
  client.on('ExtensionStatus', (ev) => seen.push(ev));
  client.on('*', (ev) => all.push(ev.Event));
  const { response, items, complete } = await client.list({ Action: 'ExtensionStateList' });
  assert.equal(response.EventList, 'start');
  assert.deepEqual(
    items.map((i) => i.Exten),
    ['100', '101'],
  );
  assert.ok(items.every((i) => i.ActionID === response.ActionID));
  assert.equal(complete?.Event, 'ExtensionStateListComplete');
  assert.equal(complete?.ListItems, '2');
  assert.equal(seen.length, 1, 'only the live event reaches the listener');
  assert.equal(seen[0].Status, '1');
  assert.deepEqual(all, ['ExtensionStatus']);
  client.close();
});

test('ActionIDs: unique per connection under load, caller ids kept, a pending duplicate refused', async () => {
  const server = new FakeAmi();
  const client = await connect(opts(server, new FakeClock()));
  await Promise.all(Array.from({ length: 500 }, () => client.send({ Action: 'Ping' })));
  const ids = server.last.received.filter((m) => m.Action === 'Ping').map((m) => m.ActionID);
  assert.equal(new Set(ids).size, 500);
  const mine = await client.send({ Action: 'Ping', ActionID: 'my-id' });
  assert.equal(mine.ActionID, 'my-id');
  server.last.silent = true;
  const first = client.send({ Action: 'Ping', ActionID: 'dup' }, { timeout: 0 });
  const second = await client.send({ Action: 'Ping', ActionID: 'dup' }).then(() => null, (e) => e);
  assert.equal(second.code, 'invalid');
  client.close();
  assert.equal((await first.then(() => null, (e) => e)).code, 'closed');
});

test('async Originate resolves on its OriginateResponse, rejects on Failure', async () => {
  const server = new FakeAmi();
  const client = await connect(opts(server, new FakeClock()));
  let n = 0;
  server.handle('Originate', (m, sock) => {
    const ok = n++ === 0;
    setImmediate(() =>
      server.emit({ Event: 'OriginateResponse', ActionID: m.ActionID, Response: ok ? 'Success' : 'Failure', Channel: 'PJSIP/100-1', Reason: ok ? '4' : '0', Uniqueid: ok ? '1.1' : '<null>' }),
    );
    return [resp(m, 'Success', { Message: 'Originate successfully queued' })];
  });
  const seenLive = [];
  client.on('OriginateResponse', (ev) => seenLive.push(ev));
  const ev = await client.send({ Action: 'Originate', Channel: 'PJSIP/100', Exten: '101', Context: 'default', Priority: '1', Async: 'true' });
  assert.equal(ev.Event, 'OriginateResponse');
  assert.equal(ev.Uniqueid, '1.1');
  const err = await client.send({ Action: 'Originate', Channel: 'PJSIP/100', Application: 'Wait', Async: true }).then(() => null, (e) => e);
  assert.equal(err.code, 'action');
  assert.equal(err.response.Response, 'Failure');
  assert.equal(seenLive.length, 2, 'the OriginateResponse events are still live events');
  client.close();
});

test('async Originate whose OriginateResponse arrives before its Response still resolves', async () => {
  // Asterisk starts the call thread, then writes the ack: a fast call (a Local channel) can
  // raise its OriginateResponse first. The event is kept until the Response comes.
  const server = new FakeAmi();
  const client = await connect(opts(server, new FakeClock()));
  let n = 0;
  server.handle('Originate', (m) => {
    const ok = n++ === 0;
    server.emit({ Event: 'OriginateResponse', ActionID: m.ActionID, Response: ok ? 'Success' : 'Failure', Channel: 'Local/park@default-1;1', Reason: ok ? '4' : '0' });
    return [resp(m, 'Success', { Message: 'Originate successfully queued' })];
  });
  const ev = await client.send({ Action: 'Originate', Channel: 'Local/park@default', Exten: 'echo', Context: 'default', Priority: '1', Async: 'true' }, { timeout: 1000 });
  assert.equal(ev.Event, 'OriginateResponse');
  assert.equal(ev.Channel, 'Local/park@default-1;1');
  const err = await client.send({ Action: 'Originate', Channel: 'Local/park@default', Application: 'Wait', Async: 'true' }, { timeout: 1000 }).then(() => null, (e) => e);
  assert.equal(err?.code, 'action');
  client.close();
});

test('per-call timeout rejects with timeout and a late answer is ignored', async () => {
  const server = new FakeAmi();
  const clock = new FakeClock();
  const client = await connect(opts(server, clock, { timeout: 5000 }));
  server.last.silent = true;
  const p = client.send({ Action: 'Ping' }, { timeout: 300 }).then(() => null, (e) => e);
  const q = client.send({ Action: 'Ping' }).then(() => null, (e) => e);
  await clock.advance(299);
  assert.equal(client._pending.size, 2);
  await clock.advance(1);
  assert.equal((await p).code, 'timeout');
  await clock.advance(4700);
  assert.equal((await q).code, 'timeout');
  assert.equal(client._pending.size, 0);
  const late = server.last.received[server.last.received.length - 1];
  server.last.deliver(resp(late, 'Success', {})); // ignored, no throw
  client.close();
});

test('AbortSignal cancels a pending call; a pre-aborted signal never sends', async () => {
  const server = new FakeAmi();
  const client = await connect(opts(server, new FakeClock()));
  server.last.silent = true;
  const ac = new AbortController();
  const p = client.send({ Action: 'Ping' }, { signal: ac.signal }).then(() => null, (e) => e);
  await flush();
  ac.abort();
  assert.equal((await p).code, 'aborted');
  assert.equal(client._pending.size, 0);
  const before = server.received.length;
  const q = await client.list({ Action: 'CoreShowChannels' }, { signal: AbortSignal.abort() }).then(() => null, (e) => e);
  assert.equal(q.code, 'aborted');
  assert.equal(server.received.length, before);
  client.close();
});

test('the number of pending calls is bounded (busy)', async () => {
  const server = new FakeAmi();
  const client = await connect(opts(server, new FakeClock(), { maxPending: 3 }));
  server.last.silent = true;
  const pend = [1, 2, 3].map(() => client.send({ Action: 'Ping' }).catch((e) => e));
  const err = await client.send({ Action: 'Ping' }).then(() => null, (e) => e);
  assert.equal(err.code, 'busy');
  client.close();
  for (const e of await Promise.all(pend)) assert.equal(e.code, 'closed');
});

test('pending calls reject with closed when the connection drops', async () => {
  const server = new FakeAmi();
  const clock = new FakeClock();
  const client = await connect(opts(server, clock, { reconnect: false }));
  server.last.silent = true;
  const p = client.send({ Action: 'Ping' }).then(() => null, (e) => e);
  const l = client.list({ Action: 'CoreShowChannels' }).then(() => null, (e) => e);
  await flush();
  server.last.kill();
  assert.equal((await p).code, 'closed');
  assert.equal((await l).code, 'closed');
  assert.equal(client.state, 'closed');
  const after = await client.send({ Action: 'Ping' }).then(() => null, (e) => e);
  assert.equal(after.code, 'closed');
});

test('on/off/unsubscribe and * listeners', async () => {
  const server = new FakeAmi();
  const client = await connect(opts(server, new FakeClock()));
  const a = [];
  const b = [];
  const star = [];
  const fa = (ev) => a.push(ev.WsSeq);
  client.on('Hangup', fa);
  const unsub = client.on('Hangup', (ev) => b.push(ev.WsSeq));
  client.on('*', (ev) => star.push(ev.Event));
  server.emit({ Event: 'Hangup', Uniqueid: '1' });
  server.emit({ Event: 'Newstate', Uniqueid: '1' });
  unsub();
  client.off('Hangup', fa);
  server.emit({ Event: 'Hangup', Uniqueid: '2' });
  assert.deepEqual(a, ['1']);
  assert.deepEqual(b, ['1']);
  assert.deepEqual(star, ['Hangup', 'Newstate', 'Hangup']);
  client.close();
});

test('events() iterator filters, bounds its buffer (WsBufferOverflow notice) and ends on abort', async () => {
  const server = new FakeAmi();
  const client = await connect(opts(server, new FakeClock()));
  const ac = new AbortController();
  const it = client.events({ Event: ['Hangup', 'Newstate'] }, { bufferSize: 3, signal: ac.signal });
  for (let i = 1; i <= 6; i++) server.emit({ Event: i % 2 ? 'Hangup' : 'Newstate', N: String(i) });
  server.emit({ Event: 'VarSet' });
  const got = [];
  // 6 matching events, buffer 3: the oldest 3 are dropped and reported first.
  for (let i = 0; i < 4; i++) got.push((await it.next()).value);
  assert.deepEqual(got[0], { Event: 'WsBufferOverflow', Dropped: '3' });
  assert.deepEqual(
    got.slice(1).map((e) => e.N),
    ['4', '5', '6'],
  );
  const waiting = it.next();
  server.emit({ Event: 'Hangup', N: '7' });
  assert.equal((await waiting).value.N, '7');
  const pending = it.next();
  ac.abort();
  assert.equal((await pending).done, true);
  // for-await with break releases the iterator.
  const it2 = client.events();
  server.emit({ Event: 'X' });
  for await (const ev of it2) {
    assert.equal(ev.Event, 'X');
    break;
  }
  assert.equal(client._iterators.size, 0);
  client.close();
});

test('backoff: exponential, capped, with jitter from the injected random', async () => {
  const server = new FakeAmi();
  const clock = new FakeClock();
  const client = await connect(
    opts(server, clock, { random: () => 0.5, reconnect: { initialDelay: 1000, maxDelay: 5000, factor: 2, jitter: 0.5 } }),
  );
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((n) => client.backoffDelay(n)),
    [750, 1500, 3000, 3750, 3750],
  );
  server.down = true;
  const t0 = clock.now();
  const states = [];
  client.on('state', (s) => states.push(s.state));
  server.last.kill();
  const attempts = () => server.sockets.length - 1;
  await clock.advance(749);
  assert.equal(attempts(), 0);
  await clock.advance(1);
  assert.equal(attempts(), 1, 'first retry at 750 ms');
  await clock.advance(1499);
  assert.equal(attempts(), 1);
  await clock.advance(1);
  assert.equal(attempts(), 2, 'second at +1500 ms');
  await clock.advance(3000);
  assert.equal(attempts(), 3, 'third at +3000 ms');
  await clock.advance(3750);
  assert.equal(attempts(), 4, 'then capped: 5000 * 0.75');
  server.down = false;
  await clock.advance(3750);
  assert.equal(client.state, 'open');
  assert.equal(clock.now() - t0, 750 + 1500 + 3000 + 3750 + 3750);
  assert.deepEqual(states, ['reconnecting', 'open']);
  client.close();
});

test('resume after a forced drop: no event lost, none duplicated', async () => {
  const server = new FakeAmi();
  server.resumeOverlap = 3; // the server replays 3 events the client already has: they must be dropped
  const clock = new FakeClock();
  const client = await connect(opts(server, clock, { reconnect: { initialDelay: 100, jitter: 0 } }));
  const seen = [];
  const reconnected = [];
  client.on('UserEvent', (ev) => seen.push(Number(ev.WsSeq)));
  client.on('reconnected', (r) => reconnected.push(r));
  for (let i = 0; i < 5; i++) server.emit({ Event: 'UserEvent', UserEvent: 'T' });
  assert.equal(client.lastSeq, '5');
  server.last.kill();
  for (let i = 0; i < 4; i++) server.emit({ Event: 'UserEvent', UserEvent: 'T' }); // while down
  await clock.advance(100);
  assert.equal(client.state, 'open');
  const login = server.last.received.find((m) => m.Action === 'Login');
  assert.equal(login?.WsResumeAfter, '5');
  for (let i = 0; i < 2; i++) server.emit({ Event: 'UserEvent', UserEvent: 'T' });
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.deepEqual(reconnected, [{ resumed: true }]);
  assert.equal(client.lastSeq, '11');
  client.close();
});

test('events lost while away surface as a lost notification with the range', async () => {
  const server = new FakeAmi({ ringSize: 3 });
  const clock = new FakeClock();
  const client = await connect(opts(server, clock, { reconnect: { initialDelay: 100, jitter: 0 } }));
  const lost = [];
  const seen = [];
  client.on('lost', (l) => lost.push(l));
  client.on('UserEvent', (ev) => seen.push(ev.WsSeq));
  server.emit({ Event: 'UserEvent' }); // 1
  server.last.kill();
  for (let i = 0; i < 10; i++) server.emit({ Event: 'UserEvent' }); // 2..11, ring keeps 9..11
  await clock.advance(100);
  assert.deepEqual(lost, [{ firstLost: '2', lastLost: '8', count: '7' }]);
  assert.deepEqual(seen, ['1', '9', '10', '11']);
  assert.equal(client.lastSeq, '11');
  client.close();
});

test('heartbeat: Ping when idle; no answer by the deadline drops and reconnects', async () => {
  const server = new FakeAmi();
  const clock = new FakeClock();
  const client = await connect(
    opts(server, clock, { heartbeat: { interval: 1000, deadline: 500 }, reconnect: { initialDelay: 100, jitter: 0 } }),
  );
  const first = server.last;
  // Traffic keeps the link busy: no Ping while events arrive.
  for (let i = 0; i < 5; i++) {
    await clock.advance(600);
    server.emit({ Event: 'UserEvent' });
  }
  assert.equal(first.received.filter((m) => m.Action === 'Ping').length, 0);
  await clock.advance(1000);
  assert.equal(first.received.filter((m) => m.Action === 'Ping').length, 1, 'idle: one Ping');
  assert.equal(client.state, 'open');
  first.silent = true; // a dead peer: nothing answers any more
  await clock.advance(1000);
  assert.equal(first.received.filter((m) => m.Action === 'Ping').length, 2);
  await clock.advance(499);
  assert.equal(client.state, 'open');
  await clock.advance(1);
  assert.equal(client.state, 'reconnecting', 'dropped at the deadline');
  await clock.advance(100);
  assert.equal(client.state, 'open');
  assert.notEqual(server.last, first);
  client.close();
});

test('bad values and names are refused client-side, before anything is sent', async () => {
  const server = new FakeAmi();
  const client = await connect(opts(server, new FakeClock()));
  const before = server.received.length;
  const bad = [
    { Action: 'Ping', ActionID: 'x\r\nAction: Originate' },
    { Action: 'Ping', ActionID: 'x\nAction: Originate' },
    { Action: 'Ping', ActionID: 'x\ry' },
    { Action: 'Ping', ActionID: 'x\0y' },
    { Action: 'Ping', ActionID: '\u001b[31m' },
    { Action: 'Ping', ActionID: '\u007f' },
    { Action: 'Ping\r\nAction: Originate' },
    { Action: 'Ping', 'A:B': '1' },
    { Action: 'Ping', 'A B': '1' },
    { Action: 'Ping', 'A\nB': '1' },
    { Action: 'Ping', '': '1' },
    { Action: 'Ping', Café: '1' },
    { Action: 'Ping', Variable: ['A=1', 'B=2\n'] },
    { Action: 'Ping', Variable: [] },
    { Action: 'Ping', X: { a: 1 } },
    { Action: 'Ping', ACTION: 'Originate' },
    { ActionID: '1' },
    { Action: '' },
    { Action: 'Ping Pong' },
    { Action: 'Ping', Data: 'x'.repeat(1001) },
    { Action: 'Ping', ['N'.repeat(65)]: '' },
    Object.fromEntries([['Action', 'UserEvent'], ...Array.from({ length: 128 }, (_, i) => [`H${i}`, 'v'])]),
  ];
  for (const action of bad) {
    const err = await client.send(/** @type {any} */ (action)).then(() => null, (e) => e);
    assert.equal(err?.code, 'invalid', JSON.stringify(action));
    assert.throws(() => validateAction(/** @type {any} */ (action)), AmiError);
  }
  assert.match((await client.send({ Action: 'Ping', Data: 'a\nb' }).catch((e) => e)).message, /'Data': contains LF/);
  assert.equal(server.received.length, before, 'nothing bad reached the server');
  // Accepted: TAB, U+2028, arrays, numbers, exactly 128 headers.
  assert.equal((await client.send({ Action: 'Ping', Data: 'tab\there \u2028 é', N: 5, V: ['a', 'b'] })).Response, 'Success');
  const sent = server.received[server.received.length - 1];
  assert.equal(sent.N, '5');
  assert.deepEqual(sent.V, ['a', 'b']);
  const full = Object.fromEntries([['Action', 'UserEvent'], ...Array.from({ length: 127 }, (_, i) => [`H${i}`, 'v'])]);
  validateAction(full); // 128 headers: the server's limit
  // The ActionID the client adds counts too: 129 would be refused by the server, so it is refused here.
  assert.equal((await client.send(full).catch((e) => e)).code, 'invalid');
  const fewer = { ...full };
  delete fewer.H0;
  const sentErr = await client.send(fewer).catch((e) => e);
  assert.equal(sentErr.code, 'action', 'sent: the fake server answered (it does not know UserEvent)');
  client.close();
});

test('AmiClient needs a WebSocket constructor', () => {
  const saved = /** @type {any} */ (globalThis).WebSocket;
  /** @type {any} */ (globalThis).WebSocket = undefined;
  try {
    assert.throws(() => new AmiClient({ url: 'ws://x/ami', username: 'a', secret: 'b' }), /WebSocket/);
  } finally {
    /** @type {any} */ (globalThis).WebSocket = saved;
  }
});

test('resumeAfter: the first login resumes after a WsSeq kept from before (a page reload)', async () => {
  const server = new FakeAmi();
  for (let i = 0; i < 5; i++) server.emit({ Event: 'UserEvent' });
  const seen = [];
  const clock = new FakeClock();
  const client = new AmiClient(opts(server, clock, { resumeAfter: '3' }));
  client.on('UserEvent', (ev) => seen.push(ev.WsSeq));
  await client.open();
  assert.equal(server.received.find((m) => m.Action === 'Login')?.WsResumeAfter, '3');
  assert.deepEqual(seen, ['4', '5']);
  client.close();
  // Without it, no WsResumeAfter is sent.
  const fresh = await connect(opts(server, clock));
  assert.equal(server.last.received.find((m) => m.Action === 'Login')?.WsResumeAfter, undefined);
  fresh.close();
});

test('a connection that never opens fails with network after the timeout; reconnect attempts time out too', async () => {
  const server = new FakeAmi();
  server.hang = true;
  const clock = new FakeClock();
  const p = connect(opts(server, clock, { timeout: 2000 })).then(() => null, (e) => e);
  await clock.advance(1999);
  assert.equal(server.sockets.length, 1);
  await clock.advance(1);
  const err = await p;
  assert.equal(err?.code, 'network');
  assert.match(err.message, /within 2000 ms/);
  // While reconnecting, a hanging attempt is abandoned and the next one follows.
  const server2 = new FakeAmi();
  const client = await connect(opts(server2, clock, { timeout: 2000, reconnect: { initialDelay: 100, jitter: 0, factor: 1 } }));
  server2.hang = true;
  server2.last.kill();
  await clock.advance(100);
  assert.equal(server2.sockets.length, 2);
  await clock.advance(1999);
  assert.equal(client.state, 'reconnecting');
  server2.hang = false; // the network is back; the stuck attempt still hangs
  await clock.advance(1);
  assert.equal(server2.sockets.length, 2, 'the stuck attempt timed out');
  await clock.advance(100);
  assert.equal(server2.sockets.length, 3, 'and the next one started');
  assert.equal(client.state, 'open');
  client.close();
});

test('a server whose numbering restarted (Asterisk or module restart) is not mistaken for duplicates', async () => {
  const server = new FakeAmi();
  const clock = new FakeClock();
  const client = await connect(opts(server, clock, { reconnect: { initialDelay: 100, jitter: 0 } }));
  const seen = [];
  const lost = [];
  client.on('UserEvent', (ev) => seen.push(ev.N));
  client.on('lost', (l) => lost.push(l));
  for (let i = 0; i < 5; i++) server.emit({ Event: 'UserEvent', N: `old${i}` }); // WsSeq 1..5
  server.last.kill();
  // The PBX restarts: a new ring, numbers from 1 again.
  server.seq = 0;
  server.ring = [];
  await clock.advance(100);
  assert.equal(client.state, 'open');
  for (let i = 0; i < 3; i++) server.emit({ Event: 'UserEvent', N: `new${i}` }); // WsSeq 1..3 again
  assert.deepEqual(seen, ['old0', 'old1', 'old2', 'old3', 'old4', 'new0', 'new1', 'new2']);
  assert.deepEqual(lost, [{ firstLost: '', lastLost: '', count: '', restarted: true }]);
  assert.equal(client.lastSeq, '3');
  client.close();
});
