// Hand-written types for ami-ws.js (the AMI-over-WebSocket client). Event and action shapes are
// generated into ami-events.d.ts from Asterisk's XML documentation (see web/tools/gen-types.mjs).

import type { AmiEventBase, AmiEventMap, AmiActionBase, AmiActionMap, AmiValue } from './ami-events.js';

export type { AmiEventBase, AmiEventMap, AmiActionBase, AmiActionMap, AmiValue } from './ami-events.js';
export type * from './ami-events.js';

/** Any message from the server (response or event): header names to string values, arrays for repeated headers. */
export type AmiMessage = Record<string, AmiValue>;

/** An event: a documented shape when the name is known, else a string map. */
export type AmiEvent<K extends string = string> = K extends keyof AmiEventMap ? AmiEventMap[K] : AmiEventBase;

/** The action type for an object whose Action is documented; a string map otherwise. */
export type ActionFor<A> = A extends { Action: infer N } ? (N extends keyof AmiActionMap ? AmiActionMap[N] : AmiActionBase) : AmiActionBase;

/** AmiError.code values. */
export type AmiErrorCode = 'auth' | 'timeout' | 'aborted' | 'closed' | 'busy' | 'invalid' | 'action' | 'network';

/** Connection states. */
export type AmiState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** The minimal WebSocket surface the client uses (browser WebSocket, Node 20+ global, or a fake). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => any) | null;
  onmessage: ((ev: { data: any }) => any) | null;
  onclose: ((ev: { code?: number; reason?: string }) => any) | null;
  onerror: ((ev: any) => any) | null;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface ReconnectOptions {
  /** First delay in ms (default 500). */
  initialDelay?: number;
  /** Cap in ms (default 30000). */
  maxDelay?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** 0..1: each delay is multiplied by (1 - jitter * random()) (default 0.5). */
  jitter?: number;
}

export interface HeartbeatOptions {
  /** Send an AMI Ping after this many ms without any message from the server (default 15000). */
  interval?: number;
  /** No answer to that Ping within this many ms: drop the connection and reconnect (default 10000). */
  deadline?: number;
}

/** A clock to inject (tests). */
export interface Clock {
  setTimeout?(fn: () => void, ms: number): any;
  clearTimeout?(id: any): void;
  now?(): number;
}

export interface ConnectOptions {
  /** ws[s]://host:port/ami */
  url: string;
  username: string;
  secret: string;
  /** 'md5' (default): Challenge, then Login with Key = md5(challenge + secret); 'plain': Login with Secret. */
  auth?: 'plain' | 'md5';
  /** WebSocket constructor; default globalThis.WebSocket. */
  WebSocket?: WebSocketConstructor;
  /** Subprotocol(s) to ask for; default 'ami-json' (the client needs JSON). */
  protocols?: string | string[];
  /** Default per-call timeout in ms (default 10000; 0 = none). */
  timeout?: number;
  /** Bound on pending calls; beyond it calls reject with code 'busy' (default 1000). */
  maxPending?: number;
  /** Reconnect policy, or false for none. */
  reconnect?: ReconnectOptions | false;
  /** Heartbeat, or false for none. */
  heartbeat?: HeartbeatOptions | false;
  /** Default buffer bound of events() iterators (default 1000). */
  eventBuffer?: number;
  /** Login's Events header (AMI event mask), e.g. 'call,agent' or 'off'. */
  events?: string;
  /** Resume after this WsSeq from the first login on (a page reload that kept lastSeq). */
  resumeAfter?: string;
  /** Injected clock (tests). */
  clock?: Clock;
  /** Injected random in [0, 1) (tests; jitter and the ActionID prefix). */
  random?: () => number;
}

export interface CallOptions {
  /** ms; overrides the default; 0 = none. */
  timeout?: number;
  signal?: AbortSignal;
}

export interface ListResult<I = AmiEventBase> {
  /** The Response (with EventList: start). */
  response: AmiMessage;
  /** The events between the response and the Complete event, routed by ActionID. */
  items: I[];
  /** The event with EventList: Complete (ListItems...), or null for an action that answered without a list. */
  complete: AmiEventBase | null;
}

export interface EventsOptions {
  /** Buffer bound; on overflow the oldest are dropped (default: the client's eventBuffer). */
  bufferSize?: number;
  /** Ends the iterator. */
  signal?: AbortSignal;
}

/**
 * Yielded by events() in place of events dropped because the buffer was full.
 */
export interface BufferOverflowNotice {
  Event: 'WsBufferOverflow';
  /** How many events were dropped (decimal string). */
  Dropped: string;
}

export interface StateNotification {
  state: AmiState;
}
export interface LostNotification {
  /** First lost WsSeq (from WsEventsLost); '' when restarted. */
  firstLost: string;
  /** Last lost WsSeq, inclusive; '' when restarted. */
  lastLost: string;
  /** How many; '' when restarted. */
  count: string;
  /**
   * true when the server's numbering began again (Asterisk or the module restarted while the
   * client was away, seen as a first WsSeq at or below lastSeq that is not a replay): what was
   * missed is unknown. A restart whose new numbers have already passed lastSeq cannot be seen.
   */
  restarted?: boolean;
}
export interface ReconnectedNotification {
  /** true when the login carried WsResumeAfter (events missed while away were replayed or reported lost). */
  resumed: boolean;
}
export interface ErrorNotification {
  error: unknown;
  during?: string;
}

export interface Notifications {
  state: StateNotification;
  lost: LostNotification;
  reconnected: ReconnectedNotification;
  error: ErrorNotification;
}

export class AmiError extends Error {
  constructor(code: AmiErrorCode | string, message: string, response?: AmiMessage);
  readonly code: AmiErrorCode | string;
  /** The AMI message that caused it ('action', 'auth'). */
  readonly response: AmiMessage | undefined;
}

export class AmiClient {
  constructor(options: ConnectOptions);
  /** Opens the first connection and logs in (connect() does this). */
  open(): Promise<this>;
  readonly state: AmiState;
  /** The last WsSeq seen, or null. */
  readonly lastSeq: string | null;
  /**
   * Sends an action; resolves with its Response. `Response: Error` rejects (code 'action').
   * An Originate with Async true resolves with its OriginateResponse event.
   */
  send<A extends AmiActionBase>(action: A & ActionFor<A>, options?: CallOptions): Promise<AmiMessage>;
  /** Runs a list action and collects its items by ActionID. */
  list<A extends AmiActionBase>(action: A & ActionFor<A>, options?: CallOptions): Promise<ListResult>;
  on<K extends keyof Notifications>(name: K, fn: (n: Notifications[K]) => void): () => void;
  on<K extends keyof AmiEventMap>(name: K, fn: (ev: AmiEventMap[K]) => void): () => void;
  on(name: '*' | string, fn: (ev: AmiEventBase) => void): () => void;
  off(name: string, fn: (ev: any) => void): void;
  events<K extends keyof AmiEventMap>(filter: { Event: K | K[]; [header: string]: string | string[] }, options?: EventsOptions): AsyncIterableIterator<AmiEventMap[K] | BufferOverflowNotice>;
  events(filter?: Record<string, string | string[]>, options?: EventsOptions): AsyncIterableIterator<AmiEventBase | BufferOverflowNotice>;
  /** The delay in ms before reconnect attempt n (0-based) under this client's policy. */
  backoffDelay(n: number): number;
  /** Logs off, closes for good, rejects pending calls (code 'closed'), ends iterators. */
  close(): void;
}

/** Connects and logs in; rejects with AmiError 'auth' (final) or 'network'. */
export function connect(options: ConnectOptions): Promise<AmiClient>;

/**
 * Checks an action as the server would (header names [A-Za-z0-9_-], no CR/LF/NUL/control
 * characters except TAB, sizes) and returns it with numbers and booleans as strings.
 * Throws AmiError 'invalid'.
 */
export function validateAction(action: Record<string, unknown>): Record<string, string | string[]>;

/** A header's first value, ASCII case ignored. */
export function header(msg: AmiMessage, name: string): string | undefined;
