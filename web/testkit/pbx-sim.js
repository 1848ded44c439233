// @ts-check
/**
 * @file A small simulated PBX for tests and the store benchmark: call life cycles (ring, answer,
 * bridge, hold, queue, park, hang up) raised as AMI events with Asterisk 22's shapes (as in
 * tests/fixtures/hook-capture-22.10.1.jsonl: channel snapshot fields in order, bridge snapshot
 * fields, DeviceStateChange, ExtensionStatus), and the list actions answered from the same
 * world, so a store built from a snapshot can be compared with one built from the events.
 */

/** @param {number} seed @returns {() => number} a deterministic PRNG in [0, 1) (mulberry32) */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STATE_DESC = { 0: 'Down', 4: 'Ring', 5: 'Ringing', 6: 'Up' };
/** ast_extension_state2str (main/pbx.c) */
const EXT_TEXT = { 0: 'Idle', 1: 'InUse', 8: 'Ringing', 9: 'InUse&Ringing', 16: 'Hold', 17: 'InUse&Hold' };

/** The simulated world. Every change calls `emit(event)`. */
export class PbxSim {
  /** @param {{emit: (ev: Record<string, any>) => void, seed?: number, extens?: number}} opts */
  constructor(opts) {
    this.emit = opts.emit;
    this.rnd = prng(opts.seed ?? 1);
    this.t = 1795299369;
    this.nextId = 0;
    this.chanSeq = 0;
    /** @type {Map<string, any>} */ this.channels = new Map();
    /** @type {Map<string, any>} */ this.bridges = new Map();
    /** @type {Map<string, any>} */ this.devices = new Map();
    /** @type {Map<string, any>} */ this.extens = new Map();
    this.extList = Array.from({ length: opts.extens ?? 10 }, (_, i) => String(100 + i));
    for (const e of this.extList) {
      this.devices.set(`PJSIP/${e}`, 'NOT_INUSE');
      this.extens.set(e, 0);
    }
    this.queue = {
      name: 'support',
      completed: 0,
      abandoned: 0,
      members: new Map(this.extList.slice(0, 4).map((e, i) => [`PJSIP/${e}`, { name: `Agent ${e}`, paused: i === 3 ? 1 : 0, reason: i === 3 ? 'lunch' : '' }])),
      /** @type {string[]} */ entries: [],
    };
    /** @type {Map<number, any>} space -> {uniqueid, since} */ this.parked = new Map();
    /** @type {{a: string, b: string, bridge: string}[]} */ this.calls = [];
  }

  ts() {
    this.t += 0.001 + this.rnd() * 0.01;
    return this.t.toFixed(6);
  }

  /** @param {string} type @param {Record<string, any>} fields @param {string} [priv] */
  raise(type, fields, priv = 'call,all') {
    this.emit({ Event: type, Privilege: priv, Timestamp: this.ts(), ...fields });
  }

  /** @param {any} c @param {string} [p] the channel snapshot headers, in Asterisk's order */
  snap(c, p = '') {
    return {
      [`${p}Channel`]: c.name,
      [`${p}ChannelState`]: String(c.state),
      [`${p}ChannelStateDesc`]: STATE_DESC[c.state],
      [`${p}CallerIDNum`]: c.cidNum,
      [`${p}CallerIDName`]: c.cidName,
      [`${p}ConnectedLineNum`]: c.conNum,
      [`${p}ConnectedLineName`]: c.conName,
      [`${p}Language`]: 'en',
      [`${p}AccountCode`]: '',
      [`${p}Context`]: c.context,
      [`${p}Exten`]: c.exten,
      [`${p}Priority`]: String(c.priority),
      [`${p}Uniqueid`]: c.uniqueid,
      [`${p}Linkedid`]: c.linkedid,
    };
  }

  /** @param {any} b bridge snapshot headers (manager_bridges.c) */
  bsnap(b) {
    return {
      BridgeUniqueid: b.id,
      BridgeType: 'basic',
      BridgeTechnology: 'simple_bridge',
      BridgeCreator: '<unknown>',
      BridgeName: '<unknown>',
      BridgeNumChannels: String(b.channels.size),
      BridgeVideoSourceMode: 'none',
    };
  }

  /** @param {string} exten @param {string} linkedid @param {string} context */
  newChannel(exten, linkedid, context = 'default') {
    const uniqueid = `${Math.floor(this.t)}.${this.nextId++}`;
    const c = {
      uniqueid,
      linkedid: linkedid || uniqueid,
      name: `PJSIP/${exten}-${(this.chanSeq++).toString(16).padStart(8, '0')}`,
      exten: '',
      context,
      priority: 1,
      state: 0,
      cidNum: exten,
      cidName: `Phone ${exten}`,
      conNum: '<unknown>',
      conName: '<unknown>',
      bridge: '',
      hold: false,
      app: '',
      appData: '',
      born: this.t,
      device: `PJSIP/${exten}`,
      ownExten: exten,
    };
    this.channels.set(uniqueid, c);
    this.raise('Newchannel', this.snap(c));
    return c;
  }

  /** @param {any} c @param {number} state */
  setState(c, state) {
    c.state = state;
    this.raise('Newstate', this.snap(c));
  }

  /** @param {string} device @param {string} state */
  device(device, state) {
    if (this.devices.get(device) === state) return;
    this.devices.set(device, state);
    this.raise('DeviceStateChange', { Device: device, State: state });
    const exten = device.slice(6);
    if (this.extens.has(exten)) {
      const status = { NOT_INUSE: 0, INUSE: 1, RINGING: 8, ONHOLD: 16 }[state] ?? 0;
      this.extens.set(exten, status);
      this.raise('ExtensionStatus', { Exten: exten, Context: 'default', Hint: device, Status: String(status), StatusText: EXT_TEXT[status] });
    }
  }

  /** Caller `from` calls `to`: ring, answer, bridge. */
  call(from, to) {
    const a = this.newChannel(from, '');
    a.exten = to;
    a.app = 'Dial';
    a.appData = `PJSIP/${to},30`;
    this.raise('Newexten', { ...this.snap(a), Extension: to, Application: 'Dial', AppData: a.appData }, 'dialplan,all');
    this.device(a.device, 'INUSE');
    const b = this.newChannel(to, a.linkedid);
    b.conNum = from;
    b.conName = a.cidName;
    this.raise('DialBegin', { ...this.snap(a), ...this.snap(b, 'Dest'), DialString: to });
    this.setState(b, 5);
    this.device(b.device, 'RINGING');
    this.setState(b, 6);
    this.raise('NewConnectedLine', this.snap(b));
    a.conNum = to;
    a.conName = b.cidName;
    this.raise('NewConnectedLine', this.snap(a));
    this.setState(a, 6);
    this.raise('DialEnd', { ...this.snap(a), ...this.snap(b, 'Dest'), DialStatus: 'ANSWER' });
    this.device(b.device, 'INUSE');
    const bridge = { id: `b${this.nextId++}-${Math.floor(this.rnd() * 1e9).toString(16)}`, channels: new Set() };
    this.bridges.set(bridge.id, bridge);
    this.raise('BridgeCreate', this.bsnap(bridge));
    for (const c of [a, b]) {
      bridge.channels.add(c.uniqueid);
      c.bridge = bridge.id;
      this.raise('BridgeEnter', { ...this.bsnap(bridge), ...this.snap(c) });
    }
    const call = { a: a.uniqueid, b: b.uniqueid, bridge: bridge.id };
    this.calls.push(call);
    return call;
  }

  /** @param {string} u @param {boolean} on */
  hold(u, on) {
    const c = this.channels.get(u);
    if (!c || c.hold === on) return;
    c.hold = on;
    this.raise(on ? 'Hold' : 'Unhold', { ...this.snap(c), ...(on ? { MusicClass: 'default' } : {}) });
    // The HOLD indication reaches the bridge peer; chan_pjsip reports the peer's device ONHOLD.
    const b = c.bridge ? this.bridges.get(c.bridge) : undefined;
    for (const u2 of b ? b.channels : []) {
      const peer = this.channels.get(u2);
      if (peer && peer !== c) this.device(peer.device, on ? 'ONHOLD' : 'INUSE');
    }
  }

  /** @param {string} u hangs up one channel (leaves its bridge, destroys an empty bridge) */
  hangupChannel(u) {
    const c = this.channels.get(u);
    if (!c) return;
    if (c.bridge) {
      const b = this.bridges.get(c.bridge);
      b.channels.delete(u);
      this.raise('BridgeLeave', { ...this.bsnap(b), ...this.snap(c) });
      c.bridge = '';
      if (b.channels.size === 0) {
        this.bridges.delete(b.id);
        this.raise('BridgeDestroy', this.bsnap(b));
      }
    }
    this.raise('HangupRequest', { ...this.snap(c), Cause: '16' });
    this.channels.delete(u);
    this.raise('Hangup', { ...this.snap(c), Cause: '16', 'Cause-txt': 'Normal Clearing' });
    if (![...this.channels.values()].some((o) => o.device === c.device)) this.device(c.device, 'NOT_INUSE');
  }

  /** @param {{a: string, b: string}} call */
  hangup(call) {
    this.calls = this.calls.filter((c) => c !== call);
    this.hangupChannel(call.b);
    this.hangupChannel(call.a);
  }

  /** @param {string} from a caller joins queue support */
  queueJoin(from) {
    const c = this.newChannel(from, '');
    c.exten = 'support';
    c.app = 'Queue';
    c.appData = 'support';
    this.raise('Newexten', { ...this.snap(c), Extension: 'support', Application: 'Queue', AppData: 'support' }, 'dialplan,all');
    this.setState(c, 6);
    this.queue.entries.push(c.uniqueid);
    const pos = this.queue.entries.length;
    this.raise('QueueCallerJoin', { ...this.snap(c), Queue: 'support', Position: String(pos), Count: String(pos) });
    return c.uniqueid;
  }

  /** @param {string} u @param {boolean} abandon the caller leaves the queue (and hangs up) */
  queueLeave(u, abandon) {
    const i = this.queue.entries.indexOf(u);
    if (i < 0) return;
    const c = this.channels.get(u);
    this.queue.entries.splice(i, 1);
    if (abandon) {
      this.queue.abandoned++;
      this.raise('QueueCallerAbandon', { ...this.snap(c), Queue: 'support', Position: String(i + 1), OriginalPosition: String(i + 1), HoldTime: '3' }, 'agent,all');
    }
    this.raise('QueueCallerLeave', { ...this.snap(c), Queue: 'support', Count: String(this.queue.entries.length), Position: String(i + 1) }, 'agent,all');
    this.hangupChannel(u);
  }

  /** @param {string} iface toggles pause of a member (QueueMemberPause, app_queue.c) */
  pause(iface) {
    const m = this.queue.members.get(iface);
    m.paused = m.paused ? 0 : 1;
    m.reason = m.paused ? 'break' : '';
    this.raise('QueueMemberPause', this.memberBlob(iface), 'agent,all');
  }

  /** @param {string} iface the fields of queue_member_blob_create (app_queue.c) */
  memberBlob(iface) {
    const m = this.queue.members.get(iface);
    return {
      Queue: 'support',
      MemberName: m.name,
      Interface: iface,
      StateInterface: iface,
      Membership: 'static',
      Penalty: '0',
      CallsTaken: '0',
      LastCall: '0',
      LastPause: '0',
      LoginTime: '1795299000',
      InCall: '0',
      Status: '1',
      Paused: String(m.paused),
      PausedReason: m.reason,
      Ringinuse: '0',
      Wrapuptime: '0',
    };
  }

  /** @param {{a: string, b: string}} call parks the B side in lot default (parking_manager.c shapes) */
  park(call) {
    const space = [...Array(20).keys()].map((i) => 701 + i).find((s) => !this.parked.has(s));
    if (space === undefined) return;
    const b = this.channels.get(call.b);
    const a = this.channels.get(call.a);
    this.calls = this.calls.filter((c) => c !== call);
    this.hangupChannel(call.a);
    const br = this.bridges.get(b.bridge);
    if (br) {
      br.channels.delete(b.uniqueid);
      this.raise('BridgeLeave', { ...this.bsnap(br), ...this.snap(b) });
      this.bridges.delete(br.id);
      this.raise('BridgeDestroy', this.bsnap(br));
      b.bridge = '';
    }
    this.parked.set(space, { uniqueid: b.uniqueid, since: this.t, parker: a });
    this.raise('ParkedCall', this.parkedFields(space), 'call,all');
  }

  /** @param {number} space */
  parkedFields(space) {
    const p = this.parked.get(space);
    const b = this.channels.get(p.uniqueid);
    return {
      ...this.snap(b, 'Parkee'),
      ParkerDialString: `PJSIP/${p.parker.ownExten}`,
      Parkinglot: 'default',
      ParkingSpace: String(space),
      ParkingTimeout: '45',
      ParkingDuration: String(Math.floor(this.t - p.since)),
    };
  }

  /** @param {number} space @param {'UnParkedCall' | 'ParkedCallGiveUp' | 'ParkedCallTimeOut'} how */
  unpark(space, how) {
    if (!this.parked.has(space)) return;
    const fields = this.parkedFields(space);
    const u = this.parked.get(space).uniqueid;
    this.parked.delete(space);
    this.raise(how, fields);
    this.hangupChannel(u);
  }

  /** Noise Asterisk raises all the time that the store ignores (VarSet, Newexten, RTCP). */
  noise() {
    const c = [...this.channels.values()][Math.floor(this.rnd() * this.channels.size)];
    if (!c) return;
    this.raise('VarSet', { ...this.snap(c), Variable: 'BRIDGEPEER', Value: 'x' }, 'dialplan,all');
  }

  /** One random step of life. */
  step() {
    const r = this.rnd();
    const free = this.extList.filter((e) => this.devices.get(`PJSIP/${e}`) === 'NOT_INUSE');
    const pick = (/** @type {any[]} */ xs) => xs[Math.floor(this.rnd() * xs.length)];
    if (r < 0.2 && free.length >= 2) {
      const from = pick(free);
      this.call(from, pick(free.filter((e) => e !== from)));
    } else if (r < 0.3 && this.calls.length) {
      const call = pick(this.calls);
      this.hold(call.a, !this.channels.get(call.a)?.hold);
    } else if (r < 0.45 && this.calls.length) {
      this.hangup(pick(this.calls));
    } else if (r < 0.5 && this.calls.length && this.parked.size < 20) {
      this.park(pick(this.calls));
    } else if (r < 0.55 && this.parked.size) {
      this.unpark(pick([...this.parked.keys()]), pick(['UnParkedCall', 'ParkedCallGiveUp', 'ParkedCallTimeOut']));
    } else if (r < 0.62 && this.queue.entries.length < 10) {
      this.queueJoin(`2${Math.floor(this.rnd() * 100)}`);
    } else if (r < 0.68 && this.queue.entries.length) {
      this.queueLeave(pick(this.queue.entries), this.rnd() < 0.5);
    } else if (r < 0.7) {
      this.pause(pick([...this.queue.members.keys()]));
    } else {
      this.noise();
    }
  }

  /** Lists answered from the world (manager.c, manager_bridges.c, extension_state.c, res_manager_devicestate.c, app_queue.c, parking_manager.c). */
  lists() {
    const now = this.t;
    const dur = (/** @type {number} */ s) => {
      const d = Math.max(0, Math.floor(s));
      return [Math.floor(d / 3600), Math.floor((d % 3600) / 60), d % 60].map((x) => String(x).padStart(2, '0')).join(':');
    };
    return {
      CoreShowChannels: () => [...this.channels.values()].map((c) => ({ Event: 'CoreShowChannel', ...this.snap(c), Application: c.app, ApplicationData: c.appData, Duration: dur(now - c.born), BridgeId: c.bridge })),
      BridgeList: () => [...this.bridges.values()].map((b) => ({ Event: 'BridgeListItem', ...this.bsnap(b) })),
      ExtensionStateList: () => [...this.extens].map(([e, s]) => ({ Event: 'ExtensionStatus', Exten: e, Context: 'default', Hint: `PJSIP/${e}`, Status: String(s), StatusText: EXT_TEXT[s] })),
      DeviceStateList: () => [...this.devices].map(([d, s]) => ({ Event: 'DeviceStateChange', Device: d, State: s })),
      QueueStatus: () => [
        { Event: 'QueueParams', Queue: 'support', Max: '0', Strategy: 'ringall', Calls: String(this.queue.entries.length), Holdtime: '0', TalkTime: '0', Completed: String(this.queue.completed), Abandoned: String(this.queue.abandoned), ServiceLevel: '0', ServicelevelPerf: '0.0', ServicelevelPerf2: '0.0', Weight: '0' },
        ...[...this.queue.members.keys()].map((iface) => {
          const b = this.memberBlob(iface);
          return { Event: 'QueueMember', Queue: 'support', Name: b.MemberName, Location: iface, StateInterface: iface, Membership: 'static', Penalty: '0', CallsTaken: '0', LastCall: '0', LastPause: '0', LoginTime: '1795299000', InCall: '0', Status: '1', Paused: b.Paused, PausedReason: b.PausedReason, Wrapuptime: '0' };
        }),
        ...this.queue.entries.map((u, i) => {
          const c = this.channels.get(u);
          return { Event: 'QueueEntry', Queue: 'support', Position: String(i + 1), Channel: c.name, Uniqueid: u, CallerIDNum: c.cidNum, CallerIDName: c.cidName, ConnectedLineNum: c.conNum, ConnectedLineName: c.conName, Wait: String(Math.floor(now - c.born)), Priority: '0' };
        }),
      ],
      Parkinglots: () => [{ Event: 'Parkinglot', Name: 'default', StartSpace: '701', StopSpace: '720', Timeout: '45' }],
      ParkedCalls: () => [...this.parked.keys()].map((s) => ({ Event: 'ParkedCall', ...this.parkedFields(s) })),
    };
  }
}

/** Complete-event names of the lists. */
export const COMPLETE = {
  CoreShowChannels: 'CoreShowChannelsComplete',
  BridgeList: 'BridgeListComplete',
  ExtensionStateList: 'ExtensionStateListComplete',
  DeviceStateList: 'DeviceStateListComplete',
  QueueStatus: 'QueueStatusComplete',
  Parkinglots: 'ParkinglotsComplete',
  ParkedCalls: 'ParkedCallsComplete',
};
