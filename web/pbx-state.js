// @ts-check
/**
 * @file PbxState: a live model of the PBX (channels, bridges, extension and device states,
 * queues, parked calls) built on an ami-ws client: subscribe, snapshot with list actions, apply
 * the events buffered during the snapshot in WsSeq order, then fold every later event. It
 * re-snapshots only on FullyBooted, Reload, lost events and a reconnect without resume; it never
 * re-polls per event. Field names are Asterisk 22's (main/manager.c, main/manager_channels.c,
 * main/manager_bridges.c, main/extension_state.c, res/res_manager_devicestate.c,
 * apps/app_queue.c, res/parking/parking_manager.c).
 */

/** The list actions of a snapshot, in the order they are sent. */
export const SNAPSHOT_ACTIONS = [
  'CoreShowChannels',
  'BridgeList',
  'ExtensionStateList',
  'DeviceStateList',
  'QueueStatus',
  'Parkinglots',
  'ParkedCalls',
];

/** @typedef {Record<string, string | string[]>} AmiMessage */

/**
 * A DOM-style event with `detail`: CustomEvent where the runtime has it (browsers, Node 19+),
 * else an Event with a `detail` property (Node 18 has CustomEvent only behind a flag).
 * @param {string} type @param {any} detail @returns {Event}
 */
function detailEvent(type, detail) {
  if (typeof CustomEvent === 'function') return new CustomEvent(type, { detail });
  return Object.assign(new Event(type), { detail });
}

/** @param {AmiMessage} m @param {string} k @returns {string} the first value of a header, or '' */
function h(m, k) {
  const v = m[k];
  return v === undefined ? '' : Array.isArray(v) ? String(v[0]) : v;
}

/** @param {AmiMessage} m @param {string} k @returns {number} a numeric header (0 when absent or bad) */
function n(m, k) {
  const v = Number(h(m, k));
  return Number.isFinite(v) ? v : 0;
}

/** @param {string} a @param {string} b decimal WsSeq comparison */
function seqCompare(a, b) {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** @param {string} d 'HH:MM:SS' (CoreShowChannel Duration) @returns {number} seconds */
function hms(d) {
  const parts = d.split(':').map(Number);
  if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x))) return 0;
  return parts[0] * 3600 + parts[1] * 60 + parts[2];
}

/** Header names of a channel snapshot by prefix, built once per prefix. */
const CHANNEL_KEYS = new Map();

/**
 * The channel fields of a channel snapshot in an event (ast_manager_build_channel_state_string_prefix).
 * @param {AmiMessage} m @param {string} [p] prefix ('Dest', 'Parkee', ...)
 */
function channelFields(m, p = '') {
  let k = CHANNEL_KEYS.get(p);
  if (!k) {
    k = ['Uniqueid', 'Linkedid', 'Channel', 'ChannelState', 'ChannelStateDesc', 'CallerIDNum', 'CallerIDName', 'ConnectedLineNum', 'ConnectedLineName', 'AccountCode', 'Context', 'Exten', 'Priority'].map((x) => p + x);
    CHANNEL_KEYS.set(p, k);
  }
  return {
    uniqueid: h(m, k[0]),
    linkedid: h(m, k[1]),
    name: h(m, k[2]),
    state: h(m, k[3]),
    stateDesc: h(m, k[4]),
    callerIdNum: h(m, k[5]),
    callerIdName: h(m, k[6]),
    connectedNum: h(m, k[7]),
    connectedName: h(m, k[8]),
    accountCode: h(m, k[9]),
    context: h(m, k[10]),
    exten: h(m, k[11]),
    priority: h(m, k[12]),
  };
}

/** @param {AmiMessage} m QueueMember (list item) or a queue member event (queue_member_blob_create) */
function memberFields(m) {
  const item = m.Event === 'QueueMember';
  return {
    interface: h(m, item ? 'Location' : 'Interface'),
    name: h(m, item ? 'Name' : 'MemberName'),
    stateInterface: h(m, 'StateInterface'),
    status: h(m, 'Status'),
    paused: h(m, 'Paused') === '1',
    pausedReason: h(m, 'PausedReason'),
    inCall: h(m, 'InCall') === '1',
    callsTaken: n(m, 'CallsTaken'),
    lastCall: n(m, 'LastCall'),
    lastPause: n(m, 'LastPause'),
    penalty: n(m, 'Penalty'),
    membership: h(m, 'Membership'),
    wrapuptime: n(m, 'Wrapuptime'),
  };
}

/** Events folded into the state, by name. */
const FOLDED = new Set([
  'Newchannel', 'Newstate', 'NewCallerid', 'NewConnectedLine', 'Newexten', 'Rename', 'Hangup',
  'DialBegin', 'DialEnd', 'BridgeCreate', 'BridgeEnter', 'BridgeLeave', 'BridgeDestroy', 'Hold',
  'Unhold', 'ExtensionStatus', 'DeviceStateChange', 'QueueCallerJoin', 'QueueCallerLeave',
  'QueueCallerAbandon', 'QueueMemberStatus', 'QueueMemberAdded', 'QueueMemberRemoved',
  'QueueMemberPause', 'QueueMemberPenalty', 'QueueMemberRinginuse', 'ParkedCall', 'UnParkedCall',
  'ParkedCallGiveUp', 'ParkedCallTimeOut', 'ParkedCallSwap', 'AgentComplete',
]);

/** @typedef {Omit<import('./pbx-state.js').PbxState, keyof EventTarget>} PbxStateApi the declared API (pbx-state.d.ts) */

/**
 * The live PBX model. Listen for 'change' ({kind, key, value|null}) and 'snapshot' ({reason}).
 * @implements {PbxStateApi}
 */
export class PbxState extends EventTarget {
  /**
   * @param {import('./ami-ws.js').AmiClient} client a logged-in client
   * @param {{now?: () => number, timeout?: number, actions?: string[]}} [options]
   *   `now` (ms epoch, for durations), `timeout` per list action, `actions` the snapshot lists
   *   to run (default all of {@link SNAPSHOT_ACTIONS})
   */
  constructor(client, options = {}) {
    super();
    this.client = client;
    this._now = options.now ?? (() => Date.now());
    this._timeout = options.timeout;
    this._actions = options.actions ?? SNAPSHOT_ACTIONS;
    /** @type {Map<string, any>} */ this.channels = new Map();
    /** @type {Map<string, any>} */ this.bridges = new Map();
    /** @type {Map<string, any>} */ this.extensions = new Map();
    /** @type {Map<string, any>} */ this.devices = new Map();
    /** @type {Map<string, any>} */ this.queues = new Map();
    /** @type {Map<string, any>} */ this.parked = new Map();
    /** @type {Map<string, any>} parking lots from Parkinglots: name -> {name, startSpace, stopSpace, timeout} */
    this.lots = new Map();
    /** @type {Set<string> | null} actions this user may run (ListCommands), null if unknown */
    this.commands = null;
    /** @type {Set<string>} list actions skipped in the last snapshot (not permitted or error) */
    this.skipped = new Set();
    /** number of snapshots taken */
    this.snapshots = 0;
    /** @type {AmiMessage[] | null} live events held while a snapshot runs */
    this._buffer = null;
    /** @type {string | null} why another snapshot is due once the running one ends */
    this._again = null;
    /** @type {Promise<void> | null} */
    this._running = null;
    /** @type {(() => void)[]} */
    this._unsubs = [];
    this._stopped = false;
    /** @type {unknown} the error of the last failed snapshot */
    this._lastError = null;
    /** @type {string | null} a snapshot is due after the next reconnect, and why */
    this._resync = null;
  }

  /**
   * Subscribes, then takes the first snapshot. Resolves when the model is complete; rejects
   * with the client's error when that snapshot failed (the store stays subscribed and takes a
   * snapshot after the client's next reconnect).
   * @returns {Promise<void>}
   */
  async start() {
    const c = this.client;
    this._unsubs.push(
      c.on('*', (ev) => this._onEvent(ev)),
      c.on('lost', () => {
        // Lost events are reported while the client logs back in: snapshot once it is open.
        if (c.state === 'open') this.resnapshot('lost');
        else this._resync = 'lost';
      }),
      c.on('reconnected', (r) => {
        const why = this._resync ?? (r.resumed ? null : 'reconnect');
        this._resync = null;
        if (why) this.resnapshot(/** @type {any} */ (why));
      }),
    );
    await this.resnapshot('start');
    if (this.snapshots === 0 && this._lastError) throw this._lastError;
  }

  /** Unsubscribes; the model stays as it was. */
  stop() {
    this._stopped = true;
    for (const u of this._unsubs) u();
    this._unsubs = [];
  }

  /**
   * Whether ListCommands says this user may run `action` (ASCII case ignored); false if unknown.
   * @param {string} action
   */
  can(action) {
    return this.commands !== null && this.commands.has(action.toLowerCase());
  }

  /**
   * Takes a snapshot now (or right after the running one). Live events keep being buffered
   * meanwhile and are applied after it in WsSeq order.
   * @param {'start' | 'FullyBooted' | 'Reload' | 'lost' | 'reconnect'} reason
   * @returns {Promise<void>}
   */
  resnapshot(reason) {
    if (this._stopped) return Promise.resolve();
    if (this._running) {
      this._again = this._again ?? reason;
      return this._running;
    }
    this._running = (async () => {
      let why = reason;
      try {
        for (;;) {
          this._again = null;
          await this._snapshot(why);
          if (this._again === null || this._stopped) break;
          why = /** @type {any} */ (this._again);
        }
      } finally {
        this._running = null;
      }
    })();
    return this._running;
  }

  /** @param {string} reason */
  async _snapshot(reason) {
    this._buffer = [];
    const c = this.client;
    const opts = this._timeout !== undefined ? { timeout: this._timeout } : {};
    try {
      let commands = null;
      try {
        const r = await c.send({ Action: 'ListCommands' }, opts);
        commands = new Set(
          Object.keys(r)
            .filter((k) => k !== 'Response' && k !== 'ActionID' && k !== 'Message')
            .map((k) => k.toLowerCase()),
        );
      } catch (err) {
        if (/** @type {any} */ (err).code !== 'action') throw err;
      }
      this.commands = commands;
      const skipped = new Set();
      /** @param {string} action @param {Record<string, string>} [extra] */
      const run = async (action, extra = {}) => {
        if (!this._actions.includes(action) || (commands !== null && !commands.has(action.toLowerCase()))) {
          skipped.add(action);
          return null;
        }
        try {
          return (await c.list({ Action: action, ...extra }, opts)).items;
        } catch (err) {
          if (/** @type {any} */ (err).code === 'action') {
            skipped.add(action);
            return null;
          }
          throw err;
        }
      };
      const [chans, bridges, exts, devs, queues, lots, parked] = await Promise.all(SNAPSHOT_ACTIONS.map((a) => run(a)));
      const now = this._now();
      const fresh = {
        channels: new Map(),
        bridges: new Map(),
        extensions: new Map(),
        devices: new Map(),
        queues: new Map(),
        parked: new Map(),
        lots: new Map(),
      };
      for (const it of chans ?? []) {
        const ch = { ...channelFields(it), bridgeId: h(it, 'BridgeId'), onHold: false, application: h(it, 'Application'), applicationData: h(it, 'ApplicationData'), createdAt: now - hms(h(it, 'Duration')) * 1000 };
        fresh.channels.set(ch.uniqueid, ch);
      }
      for (const it of bridges ?? []) {
        fresh.bridges.set(h(it, 'BridgeUniqueid'), bridgeFrom(it));
      }
      for (const ch of fresh.channels.values()) {
        if (!ch.bridgeId) continue;
        let b = fresh.bridges.get(ch.bridgeId);
        if (!b) fresh.bridges.set(ch.bridgeId, (b = { id: ch.bridgeId, type: '', technology: '', name: '', creator: '', channels: new Set() }));
        b.channels.add(ch.uniqueid);
      }
      for (const it of exts ?? []) {
        const e = extensionFrom(it);
        fresh.extensions.set(`${e.exten}@${e.context}`, e);
      }
      for (const it of devs ?? []) fresh.devices.set(h(it, 'Device'), { device: h(it, 'Device'), state: h(it, 'State') });
      // No list reports hold per channel. chan_pjsip puts the channel that receives the HOLD
      // indication (the bridge peer of the one whose phone pressed hold, which the Hold event
      // names) in its hold set, so that peer's device is ONHOLD (channels/chan_pjsip.c
      // chan_pjsip_indicate, chan_pjsip_devicestate). So a channel is on hold when a bridge
      // peer's device is ONHOLD (a channel's device: its name without the '-<sequence>' suffix).
      const deviceOf = (/** @type {string} */ name) => {
        const dash = name.lastIndexOf('-');
        return fresh.devices.get(dash > 0 ? name.slice(0, dash) : name);
      };
      for (const ch of fresh.channels.values()) {
        const b = ch.bridgeId ? fresh.bridges.get(ch.bridgeId) : undefined;
        if (!b) continue;
        for (const peer of b.channels) {
          const other = peer === ch.uniqueid ? undefined : fresh.channels.get(peer);
          if (other && deviceOf(other.name)?.state === 'ONHOLD') ch.onHold = true;
        }
      }
      for (const it of queues ?? []) {
        const name = h(it, 'Queue');
        if (it.Event === 'QueueParams') {
          const q = queueOf(fresh.queues, name);
          Object.assign(q, {
            strategy: h(it, 'Strategy'),
            calls: n(it, 'Calls'),
            completed: n(it, 'Completed'),
            abandoned: n(it, 'Abandoned'),
            holdtime: n(it, 'Holdtime'),
            talktime: n(it, 'TalkTime'),
            max: n(it, 'Max'),
            serviceLevel: n(it, 'ServiceLevel'),
          });
        } else if (it.Event === 'QueueMember') {
          const m = memberFields(it);
          queueOf(fresh.queues, name).members.set(m.interface, m);
        } else if (it.Event === 'QueueEntry') {
          queueOf(fresh.queues, name).entries.set(h(it, 'Uniqueid'), {
            uniqueid: h(it, 'Uniqueid'),
            channel: h(it, 'Channel'),
            position: n(it, 'Position'),
            callerIdNum: h(it, 'CallerIDNum'),
            callerIdName: h(it, 'CallerIDName'),
            joinedAt: now - n(it, 'Wait') * 1000,
          });
        }
      }
      for (const it of lots ?? []) {
        fresh.lots.set(h(it, 'Name'), { name: h(it, 'Name'), startSpace: h(it, 'StartSpace'), stopSpace: h(it, 'StopSpace'), timeout: n(it, 'Timeout') });
      }
      for (const it of parked ?? []) {
        const p = parkedFrom(it, now);
        fresh.parked.set(`${p.lot}/${p.space}`, p);
      }
      Object.assign(this, fresh);
      this.skipped = skipped;
      this.snapshots++;
      // Live events that arrived while the lists ran, in WsSeq order, on top of the snapshot.
      const held = this._buffer ?? [];
      this._buffer = null;
      held.sort((a, b) => seqCompare(h(a, 'WsSeq'), h(b, 'WsSeq')));
      for (const ev of held) this.fold(ev, true);
      this.dispatchEvent(detailEvent('snapshot', { reason }));
    } catch (err) {
      // The connection dropped mid-snapshot (or a list timed out): fold what was held so the
      // model stays as current as it can, and take a full snapshot after the next reconnect.
      const held = this._buffer ?? [];
      this._buffer = null;
      held.sort((a, b) => seqCompare(h(a, 'WsSeq'), h(b, 'WsSeq')));
      for (const ev of held) this.fold(ev);
      this._resync = this._resync ?? 'reconnect';
      this._lastError = err;
      this.dispatchEvent(detailEvent('error', { error: err, reason }));
    }
  }

  /** @param {AmiMessage} ev */
  _onEvent(ev) {
    if (this._stopped) return;
    const name = ev.Event;
    const live = ev.WsSeq !== undefined;
    if (live && (name === 'FullyBooted' || name === 'Reload')) {
      this.resnapshot(/** @type {any} */ (name));
      return;
    }
    if (this._buffer !== null) {
      if (live) this._buffer.push(ev);
      return;
    }
    this.fold(ev);
  }

  /**
   * Folds one event into the model (public for replay and benchmarks).
   * @param {AmiMessage} ev
   * @param {boolean} [quiet] no 'change' notifications (used right before a 'snapshot' one)
   */
  fold(ev, quiet = false) {
    const name = /** @type {string} */ (ev.Event);
    if (!FOLDED.has(name)) return;
    /** @type {[string, string, any][]} */
    const changes = [];
    const chg = (/** @type {string} */ kind, /** @type {string} */ key, /** @type {any} */ value) => changes.push([kind, key, value]);
    switch (name) {
      case 'Newchannel':
      case 'Newstate':
      case 'NewCallerid':
      case 'NewConnectedLine': {
        const ch = this._upsertChannel(ev, '');
        if (ch) chg('channel', ch.uniqueid, ch);
        break;
      }
      case 'Newexten': {
        const ch = this._upsertChannel(ev, '');
        if (ch) {
          ch.application = h(ev, 'Application');
          ch.applicationData = h(ev, 'AppData');
          chg('channel', ch.uniqueid, ch);
        }
        break;
      }
      case 'Rename': {
        const ch = this.channels.get(h(ev, 'Uniqueid'));
        if (ch) {
          ch.name = h(ev, 'Newname');
          chg('channel', ch.uniqueid, ch);
        }
        break;
      }
      case 'Hangup': {
        const id = h(ev, 'Uniqueid');
        const ch = this.channels.get(id);
        if (ch) {
          this.channels.delete(id);
          chg('channel', id, null);
          const b = ch.bridgeId ? this.bridges.get(ch.bridgeId) : undefined;
          if (b && b.channels.delete(id)) chg('bridge', b.id, b);
        }
        break;
      }
      case 'DialBegin':
      case 'DialEnd': {
        // Both channel snapshots: the caller (no prefix, absent for an originated call) and Dest.
        for (const p of ['', 'Dest']) {
          const ch = h(ev, `${p}Uniqueid`) ? this._upsertChannel(ev, p) : null;
          if (ch) chg('channel', ch.uniqueid, ch);
        }
        break;
      }
      case 'BridgeCreate': {
        const id = h(ev, 'BridgeUniqueid');
        const b = this.bridges.get(id) ?? bridgeFrom(ev);
        Object.assign(b, { type: h(ev, 'BridgeType'), technology: h(ev, 'BridgeTechnology'), name: h(ev, 'BridgeName'), creator: h(ev, 'BridgeCreator') });
        this.bridges.set(id, b);
        chg('bridge', id, b);
        break;
      }
      case 'BridgeEnter':
      case 'BridgeLeave': {
        const id = h(ev, 'BridgeUniqueid');
        let b = this.bridges.get(id);
        if (!b) this.bridges.set(id, (b = bridgeFrom(ev)));
        const ch = this._upsertChannel(ev, '');
        if (ch) {
          if (name === 'BridgeEnter') {
            b.channels.add(ch.uniqueid);
            ch.bridgeId = id;
          } else {
            b.channels.delete(ch.uniqueid);
            if (ch.bridgeId === id) ch.bridgeId = '';
          }
          chg('channel', ch.uniqueid, ch);
        }
        chg('bridge', id, b);
        break;
      }
      case 'BridgeDestroy': {
        const id = h(ev, 'BridgeUniqueid');
        const b = this.bridges.get(id);
        if (b) {
          for (const u of b.channels) {
            const ch = this.channels.get(u);
            if (ch && ch.bridgeId === id) {
              ch.bridgeId = '';
              chg('channel', u, ch);
            }
          }
          this.bridges.delete(id);
          chg('bridge', id, null);
        }
        break;
      }
      case 'Hold':
      case 'Unhold': {
        const ch = this._upsertChannel(ev, '');
        if (ch) {
          ch.onHold = name === 'Hold';
          chg('channel', ch.uniqueid, ch);
        }
        break;
      }
      case 'ExtensionStatus': {
        const e = extensionFrom(ev);
        const key = `${e.exten}@${e.context}`;
        this.extensions.set(key, e);
        chg('extension', key, e);
        break;
      }
      case 'DeviceStateChange': {
        const d = { device: h(ev, 'Device'), state: h(ev, 'State') };
        this.devices.set(d.device, d);
        chg('device', d.device, d);
        break;
      }
      case 'QueueCallerJoin': {
        const q = queueOf(this.queues, h(ev, 'Queue'));
        const ch = channelFields(ev);
        q.entries.set(ch.uniqueid, {
          uniqueid: ch.uniqueid,
          channel: ch.name,
          position: n(ev, 'Position'),
          callerIdNum: ch.callerIdNum,
          callerIdName: ch.callerIdName,
          joinedAt: this._now(),
        });
        q.calls = n(ev, 'Count');
        chg('queue', q.name, q);
        break;
      }
      case 'QueueCallerLeave':
      case 'QueueCallerAbandon': {
        const q = queueOf(this.queues, h(ev, 'Queue'));
        const id = h(ev, 'Uniqueid');
        const gone = q.entries.get(id);
        if (gone) {
          q.entries.delete(id);
          // Asterisk renumbers the callers behind the one that left (app_queue.c leave_queue).
          for (const e of q.entries.values()) if (e.position > gone.position) e.position--;
        }
        if (name === 'QueueCallerLeave') q.calls = n(ev, 'Count');
        else q.abandoned++;
        chg('queue', q.name, q);
        break;
      }
      case 'QueueMemberStatus':
      case 'QueueMemberAdded':
      case 'QueueMemberPause':
      case 'QueueMemberPenalty':
      case 'QueueMemberRinginuse': {
        const q = queueOf(this.queues, h(ev, 'Queue'));
        const m = memberFields(ev);
        q.members.set(m.interface, m);
        chg('queue', q.name, q);
        break;
      }
      case 'AgentComplete': {
        // app_queue.c raises it together with update_queue(), which counts the call completed.
        const q = queueOf(this.queues, h(ev, 'Queue'));
        q.completed++;
        chg('queue', q.name, q);
        break;
      }
      case 'QueueMemberRemoved': {
        const q = queueOf(this.queues, h(ev, 'Queue'));
        q.members.delete(h(ev, 'Interface'));
        chg('queue', q.name, q);
        break;
      }
      case 'ParkedCall':
      case 'ParkedCallSwap': {
        const p = parkedFrom(ev, this._now());
        const key = `${p.lot}/${p.space}`;
        const old = this.parked.get(key);
        if (old && name === 'ParkedCallSwap') p.parkedAt = old.parkedAt;
        this.parked.set(key, p);
        chg('parked', key, p);
        break;
      }
      case 'UnParkedCall': // spelled so by parking_manager.c (parked_call_message_response)
      case 'ParkedCallGiveUp':
      case 'ParkedCallTimeOut': {
        const key = `${h(ev, 'Parkinglot')}/${h(ev, 'ParkingSpace')}`;
        if (this.parked.delete(key)) chg('parked', key, null);
        break;
      }
    }
    if (!quiet) {
      for (const [kind, key, value] of changes) this.dispatchEvent(detailEvent('change', { kind, key, value }));
    }
  }

  /**
   * Creates or updates the channel described by an event's channel snapshot with `prefix`.
   * @param {AmiMessage} ev @param {string} prefix
   */
  _upsertChannel(ev, prefix) {
    const f = channelFields(ev, prefix);
    if (!f.uniqueid) return null;
    let ch = this.channels.get(f.uniqueid);
    if (!ch) {
      const ts = Number(h(ev, 'Timestamp'));
      ch = { ...f, bridgeId: '', onHold: false, application: '', applicationData: '', createdAt: ev.Event === 'Newchannel' && ts > 0 ? Math.round(ts * 1000) : this._now() };
      this.channels.set(f.uniqueid, ch);
    } else {
      Object.assign(ch, f);
    }
    return ch;
  }

  /**
   * A plain, deterministic copy of the model for equality checks: sorted keys, sets as sorted
   * arrays, no wall-clock times or time averages (createdAt, joinedAt, parkedAt, a queue's
   * holdtime and talktime, a member's lastCall and lastPause are left out).
   * @returns {Record<string, any>}
   */
  toJSON() {
    return plain({
      channels: this.channels,
      bridges: this.bridges,
      extensions: this.extensions,
      devices: this.devices,
      queues: this.queues,
      parked: this.parked,
    });
  }
}

/** Wall-clock times and time averages, left out of toJSON(). */
const TIMES = new Set(['createdAt', 'joinedAt', 'parkedAt', 'holdtime', 'talktime', 'lastCall', 'lastPause']);

/** @param {any} v @returns {any} */
function plain(v) {
  if (v instanceof Map) {
    /** @type {Record<string, any>} */
    const o = {};
    for (const k of [...v.keys()].sort()) o[k] = plain(v.get(k));
    return o;
  }
  if (v instanceof Set) return [...v].sort();
  if (v && typeof v === 'object') {
    /** @type {Record<string, any>} */
    const o = {};
    for (const k of Object.keys(v).sort()) if (!TIMES.has(k)) o[k] = plain(v[k]);
    return o;
  }
  return v;
}

/** @param {AmiMessage} m a bridge snapshot (BridgeListItem, BridgeCreate, BridgeEnter, ...) */
function bridgeFrom(m) {
  return {
    id: h(m, 'BridgeUniqueid'),
    type: h(m, 'BridgeType'),
    technology: h(m, 'BridgeTechnology'),
    name: h(m, 'BridgeName'),
    creator: h(m, 'BridgeCreator'),
    channels: new Set(),
  };
}

/** @param {AmiMessage} m ExtensionStatus (list item or live event) */
function extensionFrom(m) {
  return { exten: h(m, 'Exten'), context: h(m, 'Context'), hint: h(m, 'Hint'), status: h(m, 'Status'), statusText: h(m, 'StatusText') };
}

/** @param {AmiMessage} m ParkedCall (list item or event; parking_manager.c) @param {number} now */
function parkedFrom(m, now) {
  return {
    lot: h(m, 'Parkinglot'),
    space: h(m, 'ParkingSpace'),
    channel: h(m, 'ParkeeChannel'),
    uniqueid: h(m, 'ParkeeUniqueid'),
    callerIdNum: h(m, 'ParkeeCallerIDNum'),
    callerIdName: h(m, 'ParkeeCallerIDName'),
    timeout: n(m, 'ParkingTimeout'),
    parkedAt: now - n(m, 'ParkingDuration') * 1000,
  };
}

/** @param {Map<string, any>} queues @param {string} name the queue, created empty if new */
function queueOf(queues, name) {
  let q = queues.get(name);
  if (!q) {
    q = { name, strategy: '', calls: 0, completed: 0, abandoned: 0, holdtime: 0, talktime: 0, members: new Map(), entries: new Map() };
    queues.set(name, q);
  }
  return q;
}
