// @ts-check
/** @file PbxState against the fake server driven by the simulated PBX (pbx-sim.js). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../ami-ws.js';
import { PbxState, SNAPSHOT_ACTIONS } from '../pbx-state.js';
import { FakeAmi, FakeClock, flush, resp } from '../testkit/fake-ami.js';
import { PbxSim, COMPLETE } from '../testkit/pbx-sim.js';

const ALL_COMMANDS = ['Ping', 'ListCommands', 'Originate', 'Hangup', ...SNAPSHOT_ACTIONS];

/**
 * A fake server with a simulated PBX behind it.
 * @param {{commands?: string[], ringSize?: number, seed?: number, missing?: string[]}} [o]
 */
function world(o = {}) {
  const server = new FakeAmi({ ringSize: o.ringSize });
  const sim = new PbxSim({ emit: (ev) => server.emit(ev), seed: o.seed ?? 7 });
  const commands = o.commands ?? ALL_COMMANDS;
  server.handle('ListCommands', (m) => [resp(m, 'Success', Object.fromEntries(commands.map((c) => [c, `${c} synopsis (Priv: all)`])))]);
  const lists = sim.lists();
  for (const action of SNAPSHOT_ACTIONS) {
    if (o.missing?.includes(action)) continue; // the PBX lacks it: "Invalid/unknown command"
    server.list(action, () => lists[/** @type {keyof typeof lists} */ (action)](), COMPLETE[/** @type {keyof typeof COMPLETE} */ (action)]);
  }
  const clock = new FakeClock();
  const open = (extra = {}) =>
    connect({ url: 'ws://fake/ami', username: 'demo', secret: 'demo', WebSocket: server.WebSocket, clock, random: () => 0.5, heartbeat: false, reconnect: { initialDelay: 100, jitter: 0 }, ...extra });
  return { server, sim, clock, open };
}

/** @param {ReturnType<typeof world>} w a fresh client + store, started; for comparisons */
async function fresh(w) {
  const c = await w.open();
  const s = new PbxState(c);
  await s.start();
  return { c, s };
}

test('snapshot: every list folded into the model with Asterisk 22 field names', async () => {
  const w = world();
  const call = w.sim.call('100', '101');
  w.sim.hold(call.a, true);
  const q = w.sim.queueJoin('200');
  const parkCall = w.sim.call('102', '103');
  w.sim.park(parkCall);
  const { c, s } = await fresh(w);
  const a = s.channels.get(call.a);
  assert.equal(a.name.startsWith('PJSIP/100-'), true);
  assert.equal(a.stateDesc, 'Up');
  assert.equal(a.state, '6');
  assert.equal(a.connectedNum, '101');
  assert.equal(a.bridgeId, call.bridge);
  assert.equal(a.application, 'Dial');
  assert.equal(a.onHold, true, "hold inferred from the peer's device state ONHOLD");
  assert.equal(s.channels.get(call.b).onHold, false);
  assert.equal(typeof a.createdAt, 'number');
  assert.deepEqual([...s.bridges.get(call.bridge).channels].sort(), [call.a, call.b].sort());
  assert.equal(s.bridges.get(call.bridge).type, 'basic');
  assert.deepEqual(s.extensions.get('100@default'), { exten: '100', context: 'default', hint: 'PJSIP/100', status: '1', statusText: 'InUse' });
  assert.deepEqual(s.extensions.get('101@default'), { exten: '101', context: 'default', hint: 'PJSIP/101', status: '16', statusText: 'Hold' });
  assert.deepEqual(s.devices.get('PJSIP/101'), { device: 'PJSIP/101', state: 'ONHOLD' }, 'the held peer');
  const support = s.queues.get('support');
  assert.equal(support.strategy, 'ringall');
  assert.equal(support.calls, 1);
  assert.equal(support.members.size, 4);
  assert.equal(support.members.get('PJSIP/103').paused, true);
  assert.equal(support.members.get('PJSIP/103').pausedReason, 'lunch');
  assert.equal(support.entries.get(q).position, 1);
  const parked = s.parked.get('default/701');
  assert.equal(parked.uniqueid, parkCall.b);
  assert.equal(parked.timeout, 45);
  assert.equal(s.lots.get('default').stopSpace, '720');
  assert.equal(s.skipped.size, 0);
  assert.equal(s.can('originate'), true);
  assert.equal(s.can('QueuePause'), false);
  c.close();
});

test('live events during the snapshot are held and applied after it, in WsSeq order', async () => {
  const w = world();
  const call = w.sim.call('100', '101');
  const other = w.sim.call('102', '103');
  const lists = w.sim.lists();
  // CoreShowChannels answers with a list taken BEFORE these live events (as a real PBX can: the
  // events are raised while the list is being sent). Applied in arrival order without
  // buffering, the stale list would overwrite them.
  w.server.handle('CoreShowChannels', (m) => {
    const stale = lists.CoreShowChannels();
    w.sim.hold(call.a, true); // Hold raised during the list
    w.sim.call('104', '105'); // a new call during the list
    w.sim.hangupChannel(other.b); // and a hangup
    return [
      { Response: 'Success', ActionID: m.ActionID, EventList: 'start', Message: 'Channels will follow' },
      ...stale.map((it) => ({ ...it, ActionID: m.ActionID })),
      { Event: 'CoreShowChannelsComplete', ActionID: m.ActionID, EventList: 'Complete', ListItems: String(stale.length) },
    ];
  });
  const c = await w.open();
  const s = new PbxState(c);
  const changes = [];
  s.addEventListener('change', (e) => changes.push(/** @type {CustomEvent} */ (e).detail));
  await s.start();
  assert.equal(s.channels.get(call.a).onHold, true);
  assert.equal(s.channels.has(other.b), false, 'the hangup during the snapshot is not undone by the stale list');
  assert.equal(s.channels.size, 5);
  assert.equal(changes.length, 0, 'held events are folded quietly; the snapshot event announces it');
  // And the result equals a fresh snapshot taken now.
  w.server.list('CoreShowChannels', () => w.sim.lists().CoreShowChannels(), COMPLETE.CoreShowChannels);
  const f = await fresh(w);
  assert.deepEqual(s.toJSON(), f.s.toJSON());
  c.close();
  f.c.close();
});

test('each fold: channels, dial, bridges, hold, extension and device state, queues, parking', async () => {
  const w = world();
  const c = await w.open();
  const s = new PbxState(c);
  await s.start();
  const changes = [];
  s.addEventListener('change', (e) => changes.push(/** @type {CustomEvent} */ (e).detail));
  const kinds = () => new Set(changes.map((x) => x.kind));

  const call = w.sim.call('100', '101');
  assert.equal(s.channels.size, 2);
  assert.equal(s.channels.get(call.b).connectedNum, '100', 'NewConnectedLine');
  assert.equal(s.channels.get(call.a).stateDesc, 'Up', 'Newstate');
  assert.equal(s.channels.get(call.a).application, 'Dial', 'Newexten');
  assert.deepEqual([...s.bridges.get(call.bridge).channels], [call.a, call.b], 'BridgeCreate + BridgeEnter');
  assert.equal(s.extensions.get('101@default').statusText, 'InUse', 'ExtensionStatus');
  assert.equal(s.devices.get('PJSIP/101').state, 'INUSE', 'DeviceStateChange');
  assert.deepEqual(kinds(), new Set(['channel', 'bridge', 'device', 'extension']));

  w.sim.emit({ Event: 'NewCallerid', ...w.sim.snap({ ...w.sim.channels.get(call.a), cidName: 'Alice' }), 'CID-CallingPres': '0 (Presentation Allowed, Not Screened)' });
  assert.equal(s.channels.get(call.a).callerIdName, 'Alice', 'NewCallerid');
  w.sim.emit({ Event: 'Rename', Channel: s.channels.get(call.a).name, Newname: 'PJSIP/100-renamed', Uniqueid: call.a });
  assert.equal(s.channels.get(call.a).name, 'PJSIP/100-renamed', 'Rename');

  w.sim.hold(call.a, true);
  assert.equal(s.channels.get(call.a).onHold, true, 'Hold');
  w.sim.hold(call.a, false);
  assert.equal(s.channels.get(call.a).onHold, false, 'Unhold');

  changes.length = 0;
  w.sim.hangup(call);
  assert.equal(s.channels.size, 0, 'Hangup');
  assert.equal(s.bridges.size, 0, 'BridgeLeave + BridgeDestroy');
  assert.ok(changes.some((x) => x.kind === 'channel' && x.key === call.a && x.value === null), 'removal notified with value null');
  assert.ok(changes.some((x) => x.kind === 'bridge' && x.value === null));

  const q1 = w.sim.queueJoin('201');
  const q2 = w.sim.queueJoin('202');
  const q3 = w.sim.queueJoin('203');
  const support = s.queues.get('support');
  assert.equal(support.calls, 3, 'QueueCallerJoin Count');
  assert.deepEqual([...support.entries.values()].map((e) => e.position), [1, 2, 3]);
  w.sim.queueLeave(q1, true);
  assert.equal(support.abandoned, 1, 'QueueCallerAbandon');
  assert.equal(support.entries.has(q1), false, 'QueueCallerLeave');
  assert.deepEqual([support.entries.get(q2).position, support.entries.get(q3).position], [1, 2], 'renumbered');
  assert.equal(support.calls, 2);
  w.sim.pause('PJSIP/100');
  assert.equal(support.members.get('PJSIP/100').paused, true, 'QueueMemberPause');
  assert.equal(support.members.get('PJSIP/100').pausedReason, 'break');
  w.sim.raise('QueueMemberAdded', { ...w.sim.memberBlob('PJSIP/100'), Interface: 'PJSIP/109', StateInterface: 'PJSIP/109', MemberName: 'New', Membership: 'dynamic' }, 'agent,all');
  assert.equal(support.members.get('PJSIP/109').membership, 'dynamic', 'QueueMemberAdded');
  w.sim.raise('QueueMemberStatus', { ...w.sim.memberBlob('PJSIP/101'), InCall: '1', Status: '2', CallsTaken: '5' }, 'agent,all');
  assert.equal(support.members.get('PJSIP/101').inCall, true, 'QueueMemberStatus');
  assert.equal(support.members.get('PJSIP/101').callsTaken, 5);
  w.sim.raise('QueueMemberStatus', w.sim.memberBlob('PJSIP/101'), 'agent,all'); // back to the world's state
  w.sim.raise('AgentComplete', { ...w.sim.snap(w.sim.channels.get(q2)), Queue: 'support', Interface: 'PJSIP/101', MemberName: 'Agent 101', HoldTime: '3', TalkTime: '20', Reason: 'caller' }, 'agent,all');
  assert.equal(support.completed, 1, 'AgentComplete counts a completed call');
  w.sim.queue.completed++; // the world counts it too
  w.sim.raise('QueueMemberRemoved', { ...w.sim.memberBlob('PJSIP/100'), Interface: 'PJSIP/109' }, 'agent,all');
  assert.equal(support.members.has('PJSIP/109'), false, 'QueueMemberRemoved');

  for (const how of /** @type {const} */ (['UnParkedCall', 'ParkedCallGiveUp', 'ParkedCallTimeOut'])) {
    const pc = w.sim.call('104', '105');
    w.sim.park(pc);
    const key = 'default/701';
    assert.equal(s.parked.get(key)?.uniqueid, pc.b, 'ParkedCall');
    assert.equal(s.parked.get(key)?.channel.startsWith('PJSIP/105-'), true);
    w.sim.unpark(701, how);
    assert.equal(s.parked.has(key), false, how);
  }
  // After all that, the folded model equals a fresh snapshot of the world.
  const f = await fresh(w);
  assert.deepEqual(s.toJSON(), f.s.toJSON());
  c.close();
  f.c.close();
});

test('never re-polls per event: 2,000 random steps send no action', async () => {
  const w = world({ seed: 3 });
  const { c, s } = await fresh(w);
  const before = w.server.received.length;
  let snaps = 0;
  s.addEventListener('snapshot', () => snaps++);
  for (let i = 0; i < 2000; i++) w.sim.step();
  await flush();
  assert.ok(w.server.seq > 5000, `many events (${w.server.seq})`);
  assert.equal(w.server.received.length, before);
  assert.equal(snaps, 0);
  const f = await fresh(w);
  assert.deepEqual(s.toJSON(), f.s.toJSON(), 'the folded model equals a fresh snapshot');
  c.close();
  f.c.close();
});

test('re-snapshot on a live FullyBooted and on Reload, not on the login-time FullyBooted', async () => {
  const w = world();
  const { c, s } = await fresh(w);
  const reasons = [];
  s.addEventListener('snapshot', (e) => reasons.push(/** @type {CustomEvent} */ (e).detail.reason));
  assert.equal(s.snapshots, 1, 'the login FullyBooted (no WsSeq) did not trigger one');
  w.server.emit({ Event: 'FullyBooted', Privilege: 'system,all', Uptime: '5', LastReload: '5', Status: 'Fully Booted' });
  await flush();
  w.server.emit({ Event: 'Reload', Privilege: 'system,all', Module: 'pbx_config.so', Status: '0' });
  await flush();
  assert.deepEqual(reasons, ['FullyBooted', 'Reload']);
  // A burst of Reload events while a snapshot runs is coalesced into one more snapshot.
  for (let i = 0; i < 5; i++) w.server.emit({ Event: 'Reload', Privilege: 'system,all', Module: `m${i}.so`, Status: '0' });
  await flush();
  assert.deepEqual(reasons, ['FullyBooted', 'Reload', 'Reload', 'Reload']);
  c.close();
});

test('lost events re-snapshot; a resume without loss does not; the result equals a fresh store', async () => {
  const w = world({ ringSize: 50, seed: 11 });
  const { c, s } = await fresh(w);
  const reasons = [];
  s.addEventListener('snapshot', (e) => reasons.push(/** @type {CustomEvent} */ (e).detail.reason));
  for (let i = 0; i < 50; i++) w.sim.step();
  // A short drop: a few events while away, all still in the ring.
  w.server.last.kill();
  for (let i = 0; i < 3; i++) w.sim.step();
  await w.clock.advance(100);
  assert.equal(c.state, 'open');
  await flush();
  assert.deepEqual(reasons, [], 'resumed without loss: no snapshot');
  let f = await fresh(w);
  assert.deepEqual(s.toJSON(), f.s.toJSON(), 'after resume the model equals a fresh snapshot');
  f.c.close();
  // A long drop: more than the ring holds.
  const mine = w.server.live.find((x) => x.received.some((m) => m.WsResumeAfter !== undefined));
  assert.ok(mine);
  mine.kill();
  for (let i = 0; i < 200; i++) w.sim.step();
  await w.clock.advance(100);
  await flush();
  assert.deepEqual(reasons, ['lost']);
  f = await fresh(w);
  assert.deepEqual(s.toJSON(), f.s.toJSON(), 'after lost events and re-snapshot the model equals a fresh one');
  f.c.close();
  c.close();
});

test('lists the user may not run, or the PBX lacks, are skipped cleanly', async () => {
  const w = world({ commands: ['Ping', 'ListCommands', 'CoreShowChannels', 'ExtensionStateList', 'DeviceStateList', 'Parkinglots', 'ParkedCalls', 'BridgeList'], missing: ['Parkinglots', 'ParkedCalls'] });
  const call = w.sim.call('100', '101');
  const { c, s } = await fresh(w);
  assert.deepEqual([...s.skipped].sort(), ['ParkedCalls', 'Parkinglots', 'QueueStatus']);
  assert.equal(w.server.received.some((m) => m.Action === 'QueueStatus'), false, 'not permitted: never sent');
  assert.equal(w.server.received.some((m) => m.Action === 'Parkinglots'), true, 'permitted but missing: tried, error, skipped');
  assert.equal(s.channels.size, 2);
  assert.equal(s.bridges.get(call.bridge)?.channels.size, 2);
  assert.equal(s.queues.size, 0);
  assert.equal(s.can('QueueStatus'), false);
  assert.equal(s.can('coreshowchannels'), true);
  // Without BridgeList, bridges come from the channels' BridgeId.
  const w2 = world({ commands: ['ListCommands', 'CoreShowChannels'] });
  const call2 = w2.sim.call('100', '101');
  const f2 = await fresh(w2);
  assert.deepEqual([...f2.s.bridges.get(call2.bridge).channels].sort(), [call2.a, call2.b].sort());
  c.close();
  f2.c.close();
});

test('a snapshot cut by a dropped connection is retaken after the reconnect', async () => {
  const w = world();
  const c = await w.open();
  const s = new PbxState(c);
  let errors = 0;
  s.addEventListener('error', () => errors++);
  w.sim.call('100', '101');
  const orig = w.server.handlers.get('queuestatus');
  w.server.handle('QueueStatus', (m, sock) => {
    sock.kill();
    return null;
  });
  const failed = await s.start().then(() => null, (e) => e);
  assert.equal(failed?.code, 'closed', 'start() rejects when its snapshot was cut');
  assert.equal(errors, 1);
  assert.equal(s.snapshots, 0);
  w.server.handlers.set('queuestatus', /** @type {any} */ (orig));
  await w.clock.advance(100);
  await flush();
  assert.equal(s.snapshots, 1, 'retaken after the (resumed) reconnect');
  const f = await fresh(w);
  assert.deepEqual(s.toJSON(), f.s.toJSON());
  c.close();
  f.c.close();
});

test('DialBegin/DialEnd fold both channel snapshots; Newchannel takes its creation time from Timestamp', () => {
  const s = new PbxState(/** @type {any} */ ({ on: () => () => {} }), { now: () => 5000 });
  const sim = new PbxSim({ emit: (ev) => s.fold(ev) });
  const a = sim.newChannel('100', '');
  assert.equal(s.channels.get(a.uniqueid).createdAt, Math.round(Number(sim.t.toFixed(6)) * 1000));
  // The callee's Newchannel was missed: DialBegin's Dest snapshot creates it.
  const b = { ...a, uniqueid: '99.9', linkedid: a.uniqueid, name: 'PJSIP/101-000000ff', state: 0, cidNum: '101' };
  sim.raise('DialBegin', { ...sim.snap(a), ...sim.snap(b, 'Dest'), DialString: '101' });
  assert.equal(s.channels.get('99.9')?.name, 'PJSIP/101-000000ff');
  assert.equal(s.channels.get('99.9')?.createdAt, 5000, 'first seen now');
  sim.raise('DialEnd', { ...sim.snap({ ...a, state: 6 }), ...sim.snap({ ...b, state: 6 }, 'Dest'), DialStatus: 'ANSWER' });
  assert.equal(s.channels.get('99.9')?.stateDesc, 'Up');
  assert.equal(s.channels.get(a.uniqueid)?.stateDesc, 'Up');
  // An originated call's DialBegin has only the Dest snapshot.
  sim.raise('DialBegin', { ...sim.snap({ ...b, uniqueid: '77.7', name: 'PJSIP/102-1' }, 'Dest'), DialString: '102' });
  assert.equal(s.channels.get('77.7')?.name, 'PJSIP/102-1');
  assert.equal(s.channels.size, 3);
});
