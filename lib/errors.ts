/**
 * ZooKeeper's error codes and the one error type every failed operation rejects with.
 *
 * Branch on `err.code` (a stable string) or `err.rc` (ZooKeeper's number), never on the message.
 * CONNECTIONLOSS and OPERATIONTIMEOUT mean the outcome is unknown (the write may or may not
 * have been applied); every other code means nothing was changed.
 */

/** ZooKeeper's `KeeperException.Code` values, by name. */
export const Codes = {
  OK: 0,
  SYSTEMERROR: -1,
  RUNTIMEINCONSISTENCY: -2,
  DATAINCONSISTENCY: -3,
  CONNECTIONLOSS: -4,
  MARSHALLINGERROR: -5,
  UNIMPLEMENTED: -6,
  OPERATIONTIMEOUT: -7,
  BADARGUMENTS: -8,
  UNKNOWNSESSION: -12,
  NEWCONFIGNOQUORUM: -13,
  RECONFIGINPROGRESS: -14,
  APIERROR: -100,
  NONODE: -101,
  NOAUTH: -102,
  BADVERSION: -103,
  NOCHILDRENFOREPHEMERALS: -108,
  NODEEXISTS: -110,
  NOTEMPTY: -111,
  SESSIONEXPIRED: -112,
  INVALIDCALLBACK: -113,
  INVALIDACL: -114,
  AUTHFAILED: -115,
  SESSIONMOVED: -118,
  NOTREADONLY: -119,
  EPHEMERALONLOCALSESSION: -120,
  NOWATCHER: -121,
  REQUESTTIMEOUT: -122,
  RECONFIGDISABLED: -123,
  SESSIONCLOSEDREQUIRESASLAUTH: -124,
  QUOTAEXCEEDED: -125,
  THROTTLEDOP: -127,
} as const

/** A ZooKeeper error code name, e.g. `'NONODE'`. */
export type ErrorCode = keyof typeof Codes

const codeByRc = new Map<number, ErrorCode>(
  Object.entries(Codes).map(([name, rc]) => [rc, name as ErrorCode]),
)

/** Returns the code name for ZooKeeper's number `rc`, or undefined when it is not one. */
export function codeOf (rc: number): ErrorCode | undefined {
  return codeByRc.get(rc)
}

/** One operation's outcome inside a failed `multi`: `{ rc, code }` with rc 0 for OK. */
export interface OpErrorResult {
  readonly type: 'error'
  readonly rc: number
  readonly code: ErrorCode
}

/**
 * The error every failed zkpeer operation rejects with. `code` is ZooKeeper's name, `rc` its
 * number, `path` the znode concerned where one applies. A failed `multi` also carries
 * `results`, one entry per op.
 */
export class ZkError extends Error {
  override readonly name = 'ZkError'
  /** ZooKeeper's numeric code (negative). */
  readonly rc: number
  /** For a failed `multi`: every op's outcome (OK before the failing op, RUNTIMEINCONSISTENCY after). */
  results?: readonly unknown[]

  /**
   * @param code ZooKeeper's code name.
   * @param detail what was wrong and, where it helps, what to do; appended to the message.
   * @param path the znode path concerned, if any.
   */
  constructor (readonly code: ErrorCode, detail?: string, readonly path?: string, opts?: ErrorOptions) {
    super(
      [code, path === undefined ? undefined : path, detail === undefined ? undefined : `: ${detail}`]
        .filter((s) => s !== undefined).join(' ').replace(' :', ':'),
      opts,
    )
    this.rc = Codes[code]
  }

  /** True for codes whose outcome is unknown (the write may have been applied). */
  get outcomeUnknown (): boolean {
    return this.code === 'CONNECTIONLOSS' || this.code === 'OPERATIONTIMEOUT'
  }
}

/** Shorthand for a BADARGUMENTS refusal of bad input, with a message saying what was wrong. */
export function badArguments (detail: string, path?: string): ZkError {
  return new ZkError('BADARGUMENTS', detail, path)
}
