/**
 * What every recipe shares, built only on the public Session API: bounded waits (timeout,
 * AbortSignal, session end), Curator-style "protected" sequential creates that survive an
 * unknown outcome, and leak-free watches.
 *
 * Invariants the recipes rely on:
 * - A wait always ends: when woken, when its timeout passes, when the caller's signal aborts or
 *   when the session expires or closes. Whatever it registered (watches, listeners) is removed
 *   on every path, so a recipe leaves no watch behind.
 * - Watches are persistent (`addWatch`) and removed by the waiter, never one-shot: a one-shot
 *   watch cannot be removed through the Session API and would outlive an abandoned wait.
 * - A write that failed with an unknown outcome (CONNECTIONLOSS, OPERATIONTIMEOUT) is settled
 *   before anyone decides it did not happen: ZooKeeper applies one session's writes in order,
 *   so once a later write of the session has been applied, so has (or definitely failed) the
 *   earlier one ({@link settle}).
 *
 * Internal to lib/recipes: not exported from the package except {@link WaitOptions}.
 */
import { ZkError } from '../errors.js'
import { Op, type Data } from '../op.js'
import type { Session } from '../session/session.js'
import type { CreateModeValue, Stat, WatchEvent } from '../tree/types.js'

/** Options of every recipe call that may wait. */
export interface WaitOptions {
  /** Give up after this many milliseconds: the call rejects with a ZkError OPERATIONTIMEOUT. */
  readonly timeoutMs?: number
  /** Give up when this signal aborts: the call rejects with a DOMException named AbortError. */
  readonly signal?: AbortSignal
}

/**
 * One bounded call of a recipe. `signal` aborts when the call must give up; `error` then says
 * why, in the terms the caller was promised (OPERATIONTIMEOUT, AbortError, SESSIONEXPIRED).
 * Always {@link dispose} it.
 */
export class Scope {
  readonly #controller = new AbortController()
  readonly #cleanups: Array<() => void> = []
  #error: Error | undefined

  /**
   * @param zk the session the call runs on; its end aborts the call.
   * @param options the caller's timeout and signal, validated here.
   * @param what the call, for messages (e.g. `'Lock.acquire'`).
   * @param path the recipe's base path, for messages.
   */
  constructor (readonly zk: Session, options: WaitOptions | undefined, readonly what: string, readonly path: string) {
    const timeoutMs = options?.timeoutMs
    const signal = options?.signal
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || !Number.isFinite(timeoutMs))) {
      throw new ZkError('BADARGUMENTS', `${what}: timeoutMs must be a non-negative finite number of milliseconds, not ${String(timeoutMs)}`, path)
    }
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new ZkError('BADARGUMENTS', `${what}: signal must be an AbortSignal`, path)
    }
    if (signal !== undefined) {
      const onAbort = (): void => {
        this.#abort(new DOMException(`${what} ${path} was aborted`, { name: 'AbortError', cause: signal.reason }))
      }
      if (signal.aborted) onAbort()
      else {
        signal.addEventListener('abort', onAbort, { once: true })
        this.#cleanups.push(() => { signal.removeEventListener('abort', onAbort) })
      }
    }
    if (timeoutMs !== undefined) {
      // AbortSignal.timeout rather than our own timer: Node owns (and unrefs) it.
      const timeout = AbortSignal.timeout(timeoutMs)
      const onTimeout = (): void => {
        this.#abort(new ZkError('OPERATIONTIMEOUT', `${what} did not complete within ${timeoutMs} ms`, path))
      }
      timeout.addEventListener('abort', onTimeout, { once: true })
      this.#cleanups.push(() => { timeout.removeEventListener('abort', onTimeout) })
    }
    const onState = (): void => { this.#checkSession() }
    zk.on('state', onState)
    this.#cleanups.push(() => { zk.off('state', onState) })
    this.#checkSession()
  }

  /** Aborts when the call must give up. */
  get signal (): AbortSignal {
    return this.#controller.signal
  }

  /** Why the call gave up (undefined while it may go on). */
  get error (): Error | undefined {
    return this.#error
  }

  /** Throws {@link error} if the call must give up. */
  check (): void {
    if (this.#error !== undefined) throw this.#error
  }

  /**
   * Waits until `arm`'s `wake` is called, or rejects with {@link error}. `arm` registers what
   * may wake the waiter and returns how to unregister it; that runs on every outcome.
   */
  async wait (arm: (wake: () => void) => () => void): Promise<void> {
    this.check()
    let disarm: (() => void) | undefined
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => { reject(this.#error) }
        this.signal.addEventListener('abort', onAbort, { once: true })
        const off = arm(resolve)
        disarm = () => {
          off()
          this.signal.removeEventListener('abort', onAbort)
        }
      })
    } finally {
      disarm?.()
    }
  }

  /**
   * Resolves or rejects as `p` does, unless the call must give up first. ZooKeeper operations
   * cannot be cancelled, so `p` may still complete afterwards; callers clean up for that case.
   */
  race<T> (p: Promise<T>): Promise<T> {
    // If we give up first, `p`'s own failure (e.g. SESSIONEXPIRED) has no one left to hear it.
    p.catch(() => {})
    this.check()
    let onAbort: (() => void) | undefined
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => { reject(this.#error) }
      this.signal.addEventListener('abort', onAbort, { once: true })
    })
    return Promise.race([p, aborted]).finally(() => {
      if (onAbort !== undefined) this.signal.removeEventListener('abort', onAbort)
    })
  }

  /** Resolves once the session is connected (at once if it is), or rejects with {@link error}. */
  async connected (): Promise<void> {
    this.check()
    if (this.zk.state === 'connected') return
    await this.wait((wake) => {
      const onState = (s: string): void => { if (s === 'connected') wake() }
      this.zk.on('state', onState)
      return () => { this.zk.off('state', onState) }
    })
  }

  /** Unregisters every listener of this scope. Idempotent. */
  dispose (): void {
    for (const c of this.#cleanups.splice(0)) c()
  }

  #checkSession (): void {
    const state = this.zk.state
    if (state === 'expired' || state === 'closed') {
      this.#abort(new ZkError('SESSIONEXPIRED', `${this.what} gave up: its session ${state === 'expired' ? 'expired' : 'was closed'}`, this.path))
    }
  }

  #abort (error: Error): void {
    if (this.#error !== undefined) return
    this.#error = error
    this.#controller.abort(error)
  }
}

/** True for a ZkError whose write may or may not have been applied. */
export function isOutcomeUnknown (err: unknown): err is ZkError {
  return err instanceof ZkError && err.outcomeUnknown
}

/** True for a ZkError with one of `codes`. */
export function hasCode (err: unknown, ...codes: readonly string[]): err is ZkError {
  return err instanceof ZkError && codes.includes(err.code)
}

/**
 * Makes sure every earlier write of the session has been applied or has definitely failed:
 * it commits a harmless write (a check of `/`) and waits until it is applied. ZooKeeper applies a
 * session's writes in the order sent, so nothing sent before is still in flight afterwards.
 * Retries its own unknown outcomes; rejects with the scope's error when the call must give up.
 */
export async function settle (scope: Scope): Promise<void> {
  for (;;) {
    await scope.connected()
    try {
      await scope.race(scope.zk.multi([Op.check('/', -1)]))
      return
    } catch (err) {
      if (!isOutcomeUnknown(err)) throw err
    }
  }
}

/**
 * Runs `write` until its outcome is known. An unknown outcome is settled first, then `write`
 * runs again, so it must be idempotent or tolerate its own earlier success (e.g. NODEEXISTS on
 * a create it made itself, NONODE on a delete).
 */
export async function retryUnknown<T> (scope: Scope, write: () => Promise<T>): Promise<T> {
  for (;;) {
    await scope.connected()
    try {
      return await scope.race(write())
    } catch (err) {
      if (!isOutcomeUnknown(err)) throw err
      await settle(scope)
    }
  }
}

/** Creates `path` and its missing ancestors as PERSISTENT nodes (ZooKeeper's `mkdir -p`). */
export async function ensurePath (scope: Scope, path: string): Promise<void> {
  if (await scope.race(scope.zk.exists(path)) !== null) return
  const parts = path.split('/').filter((p) => p !== '')
  let at = ''
  for (const part of parts) {
    at += '/' + part
    const node = at
    await retryUnknown(scope, async () => {
      try {
        await scope.zk.create(node)
      } catch (err) {
        // Someone else (or our own earlier, unknown attempt) made it: that is the goal.
        if (!hasCode(err, 'NODEEXISTS')) throw err
      }
    })
  }
}

/** A child created by {@link protectedCreate}: `_c_<guid>-<tag>-<10-digit sequence>`. */
export interface ProtectedChild {
  readonly name: string
  readonly path: string
  readonly guid: string
  readonly tag: string
  readonly seq: number
}

const PROTECTED = /^_c_([0-9a-f]+x[0-9]+)-([a-z]+)-([0-9]{10})$/
let guidCounter = 0

/**
 * A name prefix unique to one call in the whole ensemble: the session id (unique per ensemble)
 * and a per-process counter. No randomness needed, so runs stay reproducible.
 */
export function newGuid (zk: Session): string {
  guidCounter++
  return `${zk.sessionId.toString(16)}x${guidCounter}`
}

/** Parses a protected child's name, or undefined for any other name. */
export function parseChild (dir: string, name: string): ProtectedChild | undefined {
  const m = PROTECTED.exec(name)
  if (m === null) return undefined
  const [, guid, tag, seq] = m as unknown as [string, string, string, string]
  return { name, path: `${dir}/${name}`, guid, tag, seq: Number(seq) }
}

/** The protected children of `dir` with one of `tags`, in sequence (creation) order. */
export async function sortedChildren (scope: Scope, dir: string, tags: readonly string[]): Promise<ProtectedChild[]> {
  const names = await scope.race(scope.zk.getChildren(dir))
  const out: ProtectedChild[] = []
  for (const name of names) {
    const c = parseChild(dir, name)
    if (c !== undefined && tags.includes(c.tag)) out.push(c)
  }
  return out.sort((a, b) => a.seq - b.seq)
}

/** A node made by {@link protectedCreate}. */
export interface CreatedChild extends ProtectedChild {
  /**
   * Its stat; undefined only when the create's outcome was unknown and the node, found
   * afterwards, had already been deleted again (e.g. a queue item taken at once).
   */
  readonly stat: Stat | undefined
}

/**
 * Creates a sequential child `dir/_c_<guid>-<tag>-NNNNNNNNNN` and resolves with it, handling
 * unknown outcomes as Curator's protected mode does: after a CONNECTIONLOSS/OPERATIONTIMEOUT it
 * settles the session's writes and looks for a child carrying `guid` before creating again.
 * On failure the caller removes what it may have created ({@link cleanupOwn}).
 */
export async function protectedCreate (
  scope: Scope, options: { dir: string, tag: string, guid: string, data?: Data, mode: CreateModeValue },
): Promise<CreatedChild> {
  const { dir, tag, guid, data, mode } = options
  for (;;) {
    await scope.connected()
    try {
      // Through multi, for the stat of the node as created (it may be gone by the next read).
      const [result] = await scope.race(scope.zk.multi([Op.create(`${dir}/_c_${guid}-${tag}-`, data ?? '', { mode })]))
      if (result?.type !== 'create') throw new ZkError('SYSTEMERROR', 'a create in multi returned no create result', dir)
      const child = parseChild(dir, result.path.slice(dir.length + 1))
      if (child === undefined) throw new ZkError('SYSTEMERROR', `unexpected sequential name ${result.path}`, dir)
      return { ...child, stat: result.stat }
    } catch (err) {
      if (!isOutcomeUnknown(err)) throw err
    }
    // Settled: our earlier create has now either been applied or definitely failed.
    await settle(scope)
    const [mine] = await ownChildren(scope, dir, guid)
    if (mine === undefined) continue
    const stat = await scope.race(scope.zk.exists(mine.path))
    return { ...mine, stat: stat ?? undefined }
  }
}

/** The children of `dir` carrying `guid`, lowest sequence first. */
export async function ownChildren (scope: Scope, dir: string, guid: string): Promise<ProtectedChild[]> {
  const names = await scope.race(scope.zk.getChildren(dir))
  return names.map((n) => parseChild(dir, n)).filter((c): c is ProtectedChild => c?.guid === guid).sort((a, b) => a.seq - b.seq)
}

/**
 * Deletes `path` until it is gone: NONODE counts as done, an unknown outcome is retried, and a
 * session that ended counts as done for ephemeral nodes (they went with it).
 */
export async function removeNode (scope: Scope, path: string): Promise<void> {
  await retryUnknown(scope, async () => {
    try {
      await scope.zk.delete(path)
    } catch (err) {
      if (!hasCode(err, 'NONODE')) throw err
    }
  })
}

/**
 * Best-effort cleanup after a failed or finished call: deletes every child of `dir` named
 * `_c_<guid>-…`, without a deadline but bounded by the session's life (writes time out after the
 * session timeout, and an ended session has taken its ephemeral nodes with it). Never throws.
 */
export async function removeOwn (zk: Session, dir: string, guid: string): Promise<void> {
  const scope = new Scope(zk, undefined, 'cleanup', dir)
  try {
    await settle(scope)
    const names = await scope.race(zk.getChildren(dir))
    for (const n of names) if (n.startsWith(`_c_${guid}-`)) await removeNode(scope, `${dir}/${n}`)
  } catch {
    // The session ended (its ephemeral nodes are gone) or the directory is gone: nothing left.
  } finally {
    scope.dispose()
  }
}

/**
 * {@link removeOwn} for a call that is failing: waits for the cleanup while the session is
 * connected (so the caller's rejection means "nothing left behind"), but lets it finish in the
 * background while suspended, so a timeout or abort is reported on time.
 */
export async function cleanupOwn (zk: Session, dir: string, guid: string): Promise<void> {
  const done = removeOwn(zk, dir, guid)
  if (zk.state === 'connected') await done
}

/**
 * Waits until `path` does not exist. One persistent watch on `path` only (no herd), removed
 * when the wait ends; registered before the existence check so no deletion is missed.
 */
export async function waitGone (scope: Scope, path: string): Promise<void> {
  await waitFor(scope, path, async () => await scope.zk.exists(path) === null, (e) => e.type === 'NodeDeleted')
}

/** Waits until `path` exists. Same watch discipline as {@link waitGone}. */
export async function waitExists (scope: Scope, path: string): Promise<void> {
  await waitFor(scope, path, async () => await scope.zk.exists(path) !== null, (e) => e.type === 'NodeCreated')
}

/**
 * Waits until `done()` holds, re-checking it after every event of `path` that `wakes`
 * accepts. `done` should race its own slow steps against the scope. The watch is registered before the first check, so an event cannot slip between
 * check and wait; it is removed on every outcome.
 */
export async function waitFor (
  scope: Scope, path: string, done: () => Promise<boolean>, wakes: (e: WatchEvent) => boolean,
  options: { recursive?: boolean } = {},
): Promise<void> {
  scope.check()
  let fired = false
  let wake: (() => void) | undefined
  const remove = scope.zk.addWatch(path, (e) => {
    if (!wakes(e)) return
    fired = true
    wake?.()
  }, { recursive: options.recursive === true })
  try {
    for (;;) {
      fired = false
      // Not raced: `done` may pass a point of no return (e.g. Queue's delete of a claimed item)
      // and must then be allowed to finish; it races its own waiting steps against the scope.
      if (await done()) return
      if (fired) continue
      await scope.wait((w) => {
        wake = w
        return () => { wake = undefined }
      })
    }
  } finally {
    remove()
  }
}
