/**
 * Everything non-deterministic that zkpeer uses — wall clock, timers, randomness, logging —
 * behind one injected interface. The consensus core and the tree never touch these directly;
 * the Peer passes values in. The simulator supplies a seeded Env so a whole run replays from a
 * seed.
 */

/** Structured logger. `fields` are small plain values. */
export interface Logger {
  debug (msg: string, fields?: Record<string, unknown>): void
  info (msg: string, fields?: Record<string, unknown>): void
  warn (msg: string, fields?: Record<string, unknown>): void
  error (msg: string, fields?: Record<string, unknown>): void
}

/** A source of time and timers. */
export interface Clock {
  /** Wall-clock epoch milliseconds (used for znode ctime/mtime on the leader). */
  nowMs (): number
  /** Monotonic milliseconds, for measuring durations and timeouts. */
  monotonicMs (): number
  /** Calls `fn` every `ms` until the returned cancel function is called. */
  every (ms: number, fn: () => void): () => void
  /** Calls `fn` once after `ms` unless the returned cancel function is called first. */
  after (ms: number, fn: () => void): () => void
}

/** A source of randomness; seeded in the simulator. */
export interface Random {
  /** A uniformly random integer in [min, max]. */
  intInclusive (min: number, max: number): number
  /** `n` random bytes (nonces, session passwords). */
  bytes (n: number): Uint8Array
}

/** The injected environment. */
export interface Env {
  readonly clock: Clock
  readonly random: Random
  readonly log: Logger
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug () {}, info () {}, warn () {}, error () {},
}

/**
 * A logger writing one line per record to stderr at or above `level`. The level defaults to
 * the `ZKPEER_LOG` environment variable (`debug`, `info`, `warn`, `error`, `silent`), else `warn`.
 */
export function consoleLogger (prefix = 'zkpeer', level = process.env.ZKPEER_LOG ?? 'warn'): Logger {
  const order = ['debug', 'info', 'warn', 'error']
  const min = level === 'silent' ? Infinity : Math.max(0, order.indexOf(level))
  const write = (lvl: string) => (msg: string, fields?: Record<string, unknown>): void => {
    if (order.indexOf(lvl) < min) return
    const extra = fields === undefined ? '' : ' ' + JSON.stringify(fields, (_k, v: unknown) => typeof v === 'bigint' ? v.toString() : v)
    process.stderr.write(`${prefix} ${lvl} ${msg}${extra}\n`)
  }
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') }
}

/**
 * A small, fast, seedable PRNG (mulberry32). Deterministic for a given seed; not for secrets.
 */
export function seededRandom (seed: number): Random {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    intInclusive: (min, max) => min + Math.floor(next() * (max - min + 1)),
    bytes: (n) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256)),
  }
}
