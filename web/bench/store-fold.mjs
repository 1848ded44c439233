#!/usr/bin/env node
// @ts-check
/**
 * @file Benchmark: PbxState folding a 100,000-event stream, in events per second.
 *
 * The stream is generated (deterministic seed) by web/testkit/pbx-sim.js: random call life
 * cycles on 10 extensions (Newchannel, Newexten, DialBegin/End, Newstate, NewConnectedLine,
 * BridgeCreate/Enter/Leave/Destroy, Hold/Unhold, HangupRequest, Hangup), DeviceStateChange and
 * ExtensionStatus, a queue (QueueCallerJoin/Leave/Abandon, QueueMemberPause), parking
 * (ParkedCall, UnParkedCall, ParkedCallGiveUp, ParkedCallTimeOut) and VarSet noise, with the
 * header shapes of tests/fixtures/hook-capture-22.10.1.jsonl (Asterisk 22.10.1).
 *
 * Two figures: the store alone (fold() on parsed objects, one 'change' listener attached), and
 * the whole client path (JSON text from the socket -> ami-ws.js parse, WsSeq check, dispatch ->
 * PbxState fold). Usage: node web/bench/store-fold.mjs [events] [runs]
 */
import { connect } from '../ami-ws.js';
import { PbxState } from '../pbx-state.js';
import { FakeAmi } from '../testkit/fake-ami.js';
import { PbxSim } from '../testkit/pbx-sim.js';

const N = Number(process.argv[2] ?? 100000);
const RUNS = Number(process.argv[3] ?? 5);

/** @type {Record<string, any>[]} */
const stream = [];
const sim = new PbxSim({ emit: (ev) => stream.push({ ...ev, WsSeq: String(stream.length + 1) }), seed: 42 });
while (stream.length < N) sim.step();
stream.length = N;
const texts = stream.map((ev) => JSON.stringify(ev));
const bytes = texts.reduce((s, t) => s + t.length, 0);

/** @type {Record<string, number>} */
const mix = {};
for (const ev of stream) mix[ev.Event] = (mix[ev.Event] ?? 0) + 1;

/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// 1. The store alone.
const foldRates = [];
let changes = 0;
for (let r = 0; r < RUNS; r++) {
  const store = new PbxState(/** @type {any} */ ({ on: () => () => {} }));
  store.addEventListener('change', () => changes++);
  const t0 = performance.now();
  for (const ev of stream) store.fold(ev);
  const ms = performance.now() - t0;
  foldRates.push(N / (ms / 1000));
}

// 2. The whole client path, through the injected socket.
const pathRates = [];
for (let r = 0; r < RUNS; r++) {
  const server = new FakeAmi();
  const client = await connect({ url: 'ws://bench/ami', username: 'demo', secret: 'demo', WebSocket: server.WebSocket, heartbeat: false, reconnect: false });
  const store = new PbxState(client, { actions: [] });
  await store.start();
  store.addEventListener('change', () => changes++);
  const sock = server.last;
  const t0 = performance.now();
  for (const data of texts) sock.onmessage({ data });
  const ms = performance.now() - t0;
  pathRates.push(N / (ms / 1000));
  client.close();
}

const fmt = (/** @type {number} */ x) => Math.round(x).toLocaleString('en-US');
console.log(`stream: ${fmt(N)} generated events (seed 42), ${fmt(bytes / N)} bytes of JSON each on average, ${Object.keys(mix).length} event types`);
console.log(`mix: ${Object.entries(mix).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
console.log(`node ${process.version}, ${RUNS} runs each, median:`);
console.log(`  PbxState.fold alone:                ${fmt(median(foldRates))} events/s`);
console.log(`  socket text -> ami-ws -> PbxState:  ${fmt(median(pathRates))} events/s`);
console.log(`  (change notifications dispatched: ${fmt(changes)})`);
