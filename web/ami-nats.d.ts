// Types for ami-nats.js: reading res_ami_websocket's NATS event stream over NATS's WebSocket
// listener, merged across PBXs.

import type { AmiMessage } from './ami-ws.js';

/** One event as delivered by NatsEvents. */
export interface NatsAmiEvent {
  /** The PBX it came from (the event's SystemName, else the subject's system token). */
  system: string;
  /** The AMI class token of the subject (`call`, `system`, `agent`, ...). */
  category: string;
  /** The NATS subject, e.g. `ami.pbx1.call.Newchannel`. */
  subject: string;
  /** The NATS WebSocket URL it arrived from. */
  server: string;
  /** The module's ami-json object (with WsSeq and SystemName). */
  event: AmiMessage;
}

export interface NatsEventsOptions {
  /** NATS WebSocket URLs, e.g. `wss://nats.example.com:8443`; one per site or cluster. */
  servers: string[];
  /** Subject to follow (default `ami.>`). */
  subject?: string;
  /** CONNECT credentials. */
  auth?: { user?: string; pass?: string; token?: string };
  /** WebSocket constructor (default globalThis.WebSocket). */
  WebSocket?: typeof WebSocket;
  /** Milliseconds before reconnecting a dropped server (default 1000). */
  reconnectDelay?: number;
}

/** Follows and merges the streams; events: `event`, `state`, `error` (CustomEvent detail). */
export declare class NatsEvents extends EventTarget {
  constructor(options: NatsEventsOptions);
  /** Stops following every server. */
  close(): void;
}

/** One decoded operation of the NATS protocol. */
export interface NatsOp {
  op: string;
  args: string[];
  headers?: string;
  payload?: Uint8Array;
}

/** Incremental parser of what a NATS server sends. */
export declare class NatsParser {
  push(chunk: Uint8Array): NatsOp[];
}

/** Decodes a subject token escaped by the module (`%XX`). */
export declare function unescapeToken(token: string): string;

/** Splits `<prefix>.<system>.<category>.<Event>`. */
export declare function parseSubject(subject: string): { system: string; category: string; event: string };
