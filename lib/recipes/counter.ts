/**
 * A distributed counter (Curator's DistributedAtomicLong, optimistic mode): one PERSISTENT
 * znode whose data is the value as decimal text (empty or missing = 0). Every change is a
 * read, then a setData conditional on the version read (ZooKeeper's compare-and-set), retried
 * on BADVERSION.
 *
 * Owns: the counter znode. No watches.
 */
import { ZkError } from '../errors.js'
import type { Session } from '../session/session.js'
import type { Stat } from '../tree/types.js'
import { ensurePath, hasCode, isOutcomeUnknown, Scope, settle, type WaitOptions } from './common.js'

/**
 * An integer counter at `path`. Values are safe integers (|v| ≤ 2^53 − 1).
 *
 * Contract:
 * - `add` is atomic: concurrent adds from any sessions are all applied, none lost.
 * - `compareAndSet(expected, value)` sets `value` only if the counter is `expected`.
 * - Unknown outcomes (CONNECTIONLOSS/OPERATIONTIMEOUT): the session's writes are settled and
 *   the node re-read. If its version has not moved, the write provably did not apply and is
 *   retried; if it has moved, the call rejects with the original outcome-unknown ZkError
 *   (message: "may or may not have been applied"), rather than risk applying an add twice.
 * - Suspension: calls wait for the session to reconnect (bounded by `timeoutMs`/`signal`);
 *   expiry: they reject SESSIONEXPIRED.
 */
export class Counter {
  /**
   * @param zk the session used to read and change the counter.
   * @param path the counter's znode (created as PERSISTENT, value 0, with ancestors, if missing).
   */
  constructor (readonly zk: Session, readonly path: string) {}

  /** The current value (a local read of this peer's replica, possibly slightly stale). */
  async get (options?: WaitOptions): Promise<number> {
    const scope = new Scope(this.zk, options, 'Counter.get', this.path)
    try {
      return (await this.#read(scope)).value
    } finally {
      scope.dispose()
    }
  }

  /** Adds `delta` (a safe integer, may be negative) and resolves with the new value. */
  async add (delta: number, options?: WaitOptions): Promise<number> {
    checkInteger(delta, 'Counter.add: delta', this.path)
    let result = 0
    await this.#update('Counter.add', options, (current) => {
      result = current + delta
      checkInteger(result, 'Counter.add: the result', this.path)
      return result
    })
    return result
  }

  /**
   * Sets the counter to `value` if it is `expected` now; resolves true if it did, false if the
   * counter held another value.
   */
  async compareAndSet (expected: number, value: number, options?: WaitOptions): Promise<boolean> {
    checkInteger(expected, 'Counter.compareAndSet: expected', this.path)
    checkInteger(value, 'Counter.compareAndSet: value', this.path)
    return await this.#update('Counter.compareAndSet', options, (current) => current === expected ? value : undefined)
  }

  /**
   * Read-compute-write until the write applies. `next` returns the new value, or undefined to
   * stop without writing. Resolves true if it wrote.
   */
  async #update (what: string, options: WaitOptions | undefined, next: (current: number) => number | undefined): Promise<boolean> {
    const scope = new Scope(this.zk, options, what, this.path)
    try {
      for (;;) {
        await scope.connected()
        const { value, stat } = await this.#read(scope)
        const wanted = next(value)
        if (wanted === undefined) return false
        try {
          await scope.race(this.zk.setData(this.path, String(wanted), stat.version))
          return true
        } catch (err) {
          if (hasCode(err, 'BADVERSION')) continue
          if (!isOutcomeUnknown(err)) throw err
          // Did it apply? Once settled, an unchanged version proves it did not.
          await settle(scope)
          const after = await scope.race(this.zk.exists(this.path))
          if (after?.version !== stat.version) throw err
        }
      }
    } catch (err) {
      throw scope.error ?? err
    } finally {
      scope.dispose()
    }
  }

  /** Reads value and stat, creating the node (value 0) if it is missing. */
  async #read (scope: Scope): Promise<{ value: number, stat: Stat }> {
    for (;;) {
      try {
        const { data, stat } = await scope.race(this.zk.getData(this.path))
        return { value: parseValue(data.toString('utf8'), this.path), stat }
      } catch (err) {
        if (!hasCode(err, 'NONODE')) throw err
        await ensurePath(scope, this.path)
      }
    }
  }
}

function parseValue (text: string, path: string): number {
  if (text === '') return 0
  const value = Number(text)
  if (!/^-?[0-9]+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new ZkError('BADARGUMENTS', `Counter: the znode holds ${JSON.stringify(text.slice(0, 40))}, not a decimal safe integer`, path)
  }
  return value
}

function checkInteger (n: number, what: string, path: string): void {
  if (!Number.isSafeInteger(n)) throw new ZkError('BADARGUMENTS', `${what} must be a safe integer, not ${String(n)}`, path)
}
