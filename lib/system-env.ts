/**
 * The production {@link Env}: real clock and timers, cryptographic randomness. The only module
 * in lib/ that reads the wall clock or starts timers.
 */
import { randomBytes, randomInt } from 'node:crypto'
import { consoleLogger, type Env, type Logger } from './env.js'

/**
 * Builds the system Env. Timers keep the process alive, like sockets do: a peer runs until
 * `stop()`, which cancels them.
 */
export function systemEnv (log: Logger = consoleLogger()): Env {
  return {
    clock: {
      nowMs: () => Date.now(),
      monotonicMs: () => performance.now(),
      every (ms, fn) {
        const t = setInterval(fn, ms)
        return () => clearInterval(t)
      },
      after (ms, fn) {
        const t = setTimeout(fn, ms)
        return () => clearTimeout(t)
      },
    },
    random: {
      intInclusive: (min, max) => randomInt(min, max + 1),
      bytes: (n) => new Uint8Array(randomBytes(n)),
    },
    log,
  }
}
