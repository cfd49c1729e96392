import { KestrelError } from '../contracts/errors.js';
/**
 * The message bus every service depends on. Two implementations pass one contract suite
 * (test/bus/contract.ts): NatsBus for real deployments and InProcessBus for the single-process
 * default session and deterministic replay.
 */

export type Headers = Readonly<Record<string, string>>;

export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Headers;
  /** Inbox to answer on, when the sender used request(). */
  readonly reply: string | undefined;
  /** Answer a request; throws BusError when the message carries no reply subject. */
  respond(data: Uint8Array, headers?: Headers): void;
}

export type Handler = (msg: BusMessage) => void | Promise<void>;

export interface SubscribeOptions {
  /** Queue group: each message goes to exactly one member of the group. */
  queue?: string;
}

export interface PublishOptions {
  headers?: Headers;
  reply?: string;
}

export interface RequestOptions {
  timeoutMs: number;
  headers?: Headers;
}

export interface Subscription {
  readonly subject: string;
  unsubscribe(): void;
}

export interface Bus {
  readonly kind: 'nats' | 'in-process';
  publish(subject: string, data: Uint8Array, opts?: PublishOptions): void;
  /** `pattern` may use NATS wildcards: `*` one token, `>` one or more trailing tokens. */
  subscribe(pattern: string, handler: Handler, opts?: SubscribeOptions): Subscription;
  /** Request-reply; rejects with BusTimeoutError or NoRespondersError. */
  request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<BusMessage>;
  /** Resolves once everything published so far has been handed to the server / delivered. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export class BusError extends KestrelError {
  override readonly name: string = 'BusError';
  constructor(message: string, options?: ErrorOptions) {
    super('BUS_FAILED', message, options);
  }
}

export class BusTimeoutError extends BusError {
  override readonly name = 'BusTimeoutError';
  override readonly code = 'BUS_TIMEOUT';
  constructor(
    readonly subject: string,
    readonly timeoutMs: number,
  ) {
    super(`request on ${subject} timed out after ${timeoutMs} ms`);
  }
}

export class NoRespondersError extends BusError {
  override readonly name = 'NoRespondersError';
  override readonly code = 'BUS_NO_RESPONDERS';
  constructor(readonly subject: string) {
    super(`no responders for ${subject}`);
  }
}

/** Subject syntax check shared by both implementations so they refuse the same input. */
export function validateSubject(subject: string, allowWildcards: boolean): void {
  if (subject.length === 0) throw new BusError('empty subject');
  const tokens = subject.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.length === 0 || /\s/.test(t)) throw new BusError(`invalid subject: ${JSON.stringify(subject)}`);
    if (t === '*' || t === '>') {
      if (!allowWildcards) throw new BusError(`wildcards not allowed in publish subject: ${subject}`);
      if (t === '>' && i !== tokens.length - 1) throw new BusError(`'>' must be the last token: ${subject}`);
    } else if (t.includes('*') || t.includes('>')) {
      throw new BusError(`invalid wildcard use in subject: ${subject}`);
    }
  }
}

/** NATS wildcard semantics: does `subject` match `pattern`? */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const pt = p[i]!;
    if (pt === '>') return s.length > i;
    if (i >= s.length) return false;
    if (pt !== '*' && pt !== s[i]) return false;
  }
  return p.length === s.length;
}
