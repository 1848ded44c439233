// Hand-written types for pbx-state.js (the live PBX model built on ami-ws.js).

import type { AmiClient } from './ami-ws.js';

/** The list actions a snapshot runs. */
export declare const SNAPSHOT_ACTIONS: readonly string[];

export interface Channel {
  uniqueid: string;
  linkedid: string;
  /** Channel name, e.g. PJSIP/100-00000001. */
  name: string;
  /** ChannelState code as AMI sends it ('6'). */
  state: string;
  /** ChannelStateDesc ('Up', 'Ringing', ...). */
  stateDesc: string;
  callerIdNum: string;
  callerIdName: string;
  connectedNum: string;
  connectedName: string;
  accountCode: string;
  context: string;
  exten: string;
  priority: string;
  /** BridgeUniqueid of the bridge it is in, or ''. */
  bridgeId: string;
  /**
   * From Hold/Unhold. No list reports hold per channel, so a snapshot infers it: chan_pjsip
   * reports the device of the party that receives the hold indication (the holder's bridge
   * peer) as ONHOLD, so a channel whose bridge peer's device is ONHOLD is taken as on hold.
   */
  onHold: boolean;
  application: string;
  applicationData: string;
  /** ms epoch (from CoreShowChannel Duration, Newchannel Timestamp, or first sight). */
  createdAt: number;
}

export interface Bridge {
  id: string;
  type: string;
  technology: string;
  name: string;
  creator: string;
  /** Uniqueids of the channels in it. */
  channels: Set<string>;
}

export interface Extension {
  exten: string;
  context: string;
  hint: string;
  /** ExtensionStatus Status code ('0' idle, '1' in use, '8' ringing, '16' on hold, ...). */
  status: string;
  statusText: string;
}

export interface Device {
  device: string;
  /** NOT_INUSE, INUSE, BUSY, INVALID, UNAVAILABLE, RINGING, RINGINUSE, ONHOLD, UNKNOWN. */
  state: string;
}

export interface QueueMember {
  interface: string;
  name: string;
  stateInterface: string;
  /** Device state code as app_queue sends it. */
  status: string;
  paused: boolean;
  pausedReason: string;
  inCall: boolean;
  callsTaken: number;
  lastCall: number;
  lastPause: number;
  penalty: number;
  membership: string;
  wrapuptime: number;
}

export interface QueueEntry {
  uniqueid: string;
  channel: string;
  position: number;
  callerIdNum: string;
  callerIdName: string;
  /** ms epoch. */
  joinedAt: number;
}

export interface Queue {
  name: string;
  strategy: string;
  calls: number;
  completed: number;
  abandoned: number;
  holdtime: number;
  talktime: number;
  max?: number;
  serviceLevel?: number;
  members: Map<string, QueueMember>;
  entries: Map<string, QueueEntry>;
}

export interface ParkedCall {
  lot: string;
  space: string;
  channel: string;
  uniqueid: string;
  callerIdNum: string;
  callerIdName: string;
  /** ParkingTimeout, seconds. */
  timeout: number;
  /** ms epoch. */
  parkedAt: number;
}

export interface ParkingLot {
  name: string;
  startSpace: string;
  stopSpace: string;
  timeout: number;
}

export type ChangeKind = 'channel' | 'bridge' | 'extension' | 'device' | 'queue' | 'parked';

export interface ChangeDetail {
  kind: ChangeKind;
  key: string;
  /** The new value, or null when it is gone. */
  value: Channel | Bridge | Extension | Device | Queue | ParkedCall | null;
}

export type SnapshotReason = 'start' | 'FullyBooted' | 'Reload' | 'lost' | 'reconnect';

export interface SnapshotDetail {
  reason: SnapshotReason;
}

export interface PbxStateOptions {
  /** Clock in ms epoch (durations). */
  now?: () => number;
  /** Per list action timeout in ms (default: the client's). */
  timeout?: number;
  /** The snapshot lists to run (default all of SNAPSHOT_ACTIONS). */
  actions?: string[];
}

export class PbxState extends EventTarget {
  constructor(client: AmiClient, options?: PbxStateOptions);
  readonly client: AmiClient;
  readonly channels: Map<string, Channel>;
  readonly bridges: Map<string, Bridge>;
  /** Key 'exten@context'. */
  readonly extensions: Map<string, Extension>;
  readonly devices: Map<string, Device>;
  readonly queues: Map<string, Queue>;
  /** Key 'lot/space'. */
  readonly parked: Map<string, ParkedCall>;
  readonly lots: Map<string, ParkingLot>;
  /** Lower-case action names from ListCommands, or null when unknown. */
  readonly commands: Set<string> | null;
  /** List actions skipped in the last snapshot (not permitted, or the PBX answered an error). */
  readonly skipped: Set<string>;
  /** Snapshots taken so far. */
  readonly snapshots: number;
  /** Subscribes, then takes the first snapshot; rejects if it failed (a snapshot follows the next reconnect). */
  start(): Promise<void>;
  stop(): void;
  /** Whether ListCommands lists the action for this user (false when unknown). */
  can(action: string): boolean;
  /** Takes a snapshot now or right after the running one. */
  resnapshot(reason: SnapshotReason): Promise<void>;
  /** Folds one event (public for replays and benchmarks). */
  fold(ev: Record<string, string | string[]>, quiet?: boolean): void;
  /**
   * Deterministic plain copy: sorted keys, sets as sorted arrays, no wall-clock times or time
   * averages (createdAt, joinedAt, parkedAt, holdtime, talktime, lastCall, lastPause).
   */
  toJSON(): Record<string, any>;
  addEventListener(type: 'change', listener: (e: CustomEvent<ChangeDetail>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: 'snapshot', listener: (e: CustomEvent<SnapshotDetail>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: 'error', listener: (e: CustomEvent<{ error: unknown; reason: SnapshotReason }>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
}
