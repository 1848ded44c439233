// @ts-check
/** @file A stand-in for the client and the store with the contract's shapes, for the render
 * benchmark and the panel's look without a PBX. A classic script: defines `globalThis.PanelFake`. */
(() => {
  class FakeClient {
    constructor() { this.state = 'open'; this.lastSeq = null; /** @type {Map<string, Set<Function>>} */ this.l = new Map(); this.sent = []; }
    /** @param {string} n @param {Function} fn */
    on(n, fn) { if (!this.l.has(n)) this.l.set(n, new Set()); this.l.get(n)?.add(fn); return () => this.l.get(n)?.delete(fn); }
    /** @param {string} n @param {any} d */
    emit(n, d) { for (const fn of this.l.get(n) ?? []) fn(d); }
    /** @param {any} a */
    async send(a) { this.sent.push(a); return { Response: 'Success' }; }
    close() { this.state = 'closed'; }
  }
  class FakePbx extends EventTarget {
    constructor() {
      super();
      this.channels = new Map(); this.bridges = new Map(); this.extensions = new Map(); this.devices = new Map();
      this.queues = new Map(); this.parked = new Map(); this.denied = new Set();
    }
    /** @param {string} a */
    can(a) { return !this.denied.has(a); }
    /** @param {string} kind @param {string} key @param {any} value */
    change(kind, key, value) { this.dispatchEvent(new CustomEvent('change', { detail: { kind, key, value } })); }
    stop() {}
    toJSON() { return {}; }
  }
  const NAMES = ['Alice Martin', 'Bob Okafor', 'Chen Wei', 'Dana Kowalski', 'Emil Novak', 'Fatima Zahra',
    'Gianni Russo', 'Hana Sato', 'Ivan Petrov', 'Julia Costa', 'Kofi Mensah', 'Lena Berg'];
  let uid = 1700000000;
  let seq = 0;
  /**
   * A two-party bridged call.
   * @param {FakePbx} pbx @param {string} from @param {string} to @param {number} ageMs
   */
  function addCall(pbx, from, to, ageMs, hold = false) {
    const a = `${uid}.${seq++}`; const b = `${uid}.${seq++}`;
    const bridge = `br-${a}`;
    const t = Date.now() - ageMs;
    const nameOf = (/** @type {string} */ n) => NAMES[Number(n.replace(/\D/g, '')) % NAMES.length];
    const base = { linkedid: a, state: '6', stateDesc: 'Up', context: 'default', application: 'Dial', bridgeId: bridge };
    pbx.channels.set(a, { ...base, uniqueid: a, name: `PJSIP/${from}-0000${a.slice(-3)}`, callerIdNum: from, callerIdName: nameOf(from),
      connectedNum: to, connectedName: nameOf(to), exten: to, onHold: hold, createdAt: t });
    pbx.channels.set(b, { ...base, uniqueid: b, name: `PJSIP/${to}-0000${b.slice(-3)}`, callerIdNum: to, callerIdName: nameOf(to),
      connectedNum: from, connectedName: nameOf(from), exten: 's', application: 'AppDial', onHold: false, createdAt: t + 900 });
    pbx.bridges.set(bridge, { id: bridge, type: 'basic', technology: 'simple_bridge', channels: new Set([a, b]) });
    return [a, b];
  }
  /** A demo world: 10 extensions, a queue, parked calls, `calls` live calls. @param {number} calls */
  function world(calls) {
    const pbx = new FakePbx();
    const status = [1, 1, 0, 8, 0, 16, 0, 4, 0, 0];
    for (let i = 0; i < 10; i++) {
      const e = String(100 + i);
      pbx.extensions.set(`${e}@default`, { exten: e, context: 'default', hint: `PJSIP/${e}`, status: String(status[i]), statusText: '' });
    }
    if (calls <= 10) {
      addCall(pbx, '100', '101', 754000);
      addCall(pbx, '+14155550134', '105', 132000, true);
      const r = `${uid++}.99`;
      pbx.channels.set(r, { uniqueid: r, linkedid: r, name: `PJSIP/102-00000042`, state: '5', stateDesc: 'Ringing', callerIdNum: '102',
        callerIdName: 'Chen Wei', connectedNum: '103', connectedName: '', context: 'default', exten: '103', bridgeId: '', onHold: false,
        application: 'Dial', createdAt: Date.now() - 6000 });
    } else {
      for (let i = 0; i < calls; i++) addCall(pbx, String(2000 + i), String(3000 + i), (i * 7919) % 600000);
    }
    const members = new Map();
    [['PJSIP/100', 'Alice Martin', '2', false, true], ['PJSIP/101', 'Bob Okafor', '2', false, true],
      ['PJSIP/102', 'Chen Wei', '1', true, false], ['PJSIP/103', 'Dana Kowalski', '1', false, false]].forEach(([i, n, s, p, c]) =>
      members.set(i, { interface: i, name: n, stateInterface: i, status: s, paused: p ? '1' : '0', pausedReason: p ? 'Lunch' : '',
        inCall: c ? '1' : '0', callsTaken: '12', lastCall: '0', penalty: '0', membership: 'static' }));
    const entries = new Map([['q1', { uniqueid: 'q1', channel: 'PJSIP/trunk-0001', position: '1', callerIdNum: '+442071838750',
      callerIdName: 'Oliver Smith', joinedAt: Date.now() - 48000 }], ['q2', { uniqueid: 'q2', channel: 'PJSIP/trunk-0002', position: '2',
      callerIdNum: '+33142685300', callerIdName: '', joinedAt: Date.now() - 17000 }]]);
    pbx.queues.set('support', { name: 'support', strategy: 'ringall', calls: '2', completed: '37', abandoned: '3', holdtime: '21',
      talktime: '184', members, entries });
    pbx.parked.set('default/701', { lot: 'default', space: '701', channel: 'PJSIP/trunk-0003', uniqueid: 'p1', callerIdNum: '+4930901820',
      callerIdName: 'Marta Klein', timeout: '45', parkedAt: Date.now() - 23000 });
    return pbx;
  }
  /** @type {any} */ (globalThis).PanelFake = { FakeClient, FakePbx, addCall, world };
})();
