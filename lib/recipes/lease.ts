/**
 * The handle a lock-like recipe (Lock, ReadWriteLock, Semaphore) gives its holder: the fencing
 * token, release, and how the holder learns it may have lost what it holds.
 *
 * Owns one 'state' listener on the session from acquisition to release/loss; removes it then.
 */
import { EventEmitter } from 'node:events'
import { ZkError } from '../errors.js'
import type { Session } from '../session/session.js'
import { removeOwn } from './common.js'

/**
 * A held lock, read/write lock or semaphore permit.
 *
 * Events:
 * - `'suspended'`: the session's peer lost contact with the ensemble. The lease may be lost
 *   (if the session expires on the other side, another holder can take over before this
 *   process hears of it); stop work that needs exclusivity until `'reconnected'`, or rely on
 *   the fencing token.
 * - `'reconnected'`: contact is back and the session is alive: the lease is still held.
 * - `'lost'`: the session expired or was closed: the lease is definitely gone (its node went
 *   with the session), and {@link signal} aborts.
 */
export class Lease extends EventEmitter {
  readonly #controller = new AbortController()
  readonly #onState: (s: string) => void
  #lost = false
  #released: Promise<void> | undefined

  /** @internal Leases are made by the recipes. */
  constructor (
    private readonly zk: Session,
    /**
     * The lease's fencing token: the zxid that created its znode (`czxid`). It is the same on
     * every peer, and strictly greater than the token of any earlier holder of the same lock
     * (a holder's node was created after its predecessor's was, and zxids only grow), even if
     * the lock's parent znode is deleted and re-created, which would reset a sequence counter.
     * Pass it to the resource you guard, which should refuse tokens lower than the highest it
     * has seen.
     */
    readonly fencingToken: number,
    /** The lease's znode. */
    readonly path: string,
    private readonly dir: string,
    private readonly guid: string,
  ) {
    super()
    this.#onState = (s) => {
      if (s === 'suspended') this.emit('suspended')
      else if (s === 'connected') this.emit('reconnected')
      else if (s === 'expired' || s === 'closed') this.#lose()
    }
    zk.on('state', this.#onState)
    if (zk.state === 'expired' || zk.state === 'closed') this.#lose()
  }

  /** True once the session ended while the lease was held: it is definitely lost. */
  get lost (): boolean {
    return this.#lost
  }

  /** True while the session is suspended (the lease may be lost; see `'suspended'`). */
  get suspended (): boolean {
    return this.zk.state === 'suspended'
  }

  /**
   * Aborts as soon as the holder must stop relying on the lease: the session expired or
   * closed (reason: a SESSIONEXPIRED ZkError), or {@link release} was called. Suspension alone
   * does not abort it (see `'suspended'`).
   */
  get signal (): AbortSignal {
    return this.#controller.signal
  }

  /**
   * Releases the lease: deletes its znode (retrying unknown outcomes while the session lives)
   * and removes every listener. Idempotent; resolves, without deleting anything, when the
   * session already ended (the node went with it). Never rejects.
   */
  release (): Promise<void> {
    if (this.#released === undefined) {
      this.zk.off('state', this.#onState)
      if (!this.#controller.signal.aborted) this.#controller.abort(new DOMException('the lease was released', 'AbortError'))
      this.#released = removeOwn(this.zk, this.dir, this.guid)
    }
    return this.#released
  }

  #lose (): void {
    if (this.#lost || this.#released !== undefined) return
    this.#lost = true
    this.zk.off('state', this.#onState)
    const how = this.zk.state === 'closed' ? 'was closed' : 'expired'
    this.#controller.abort(new ZkError('SESSIONEXPIRED', `the session ${how}: the lease is lost`, this.path))
    this.emit('lost')
  }
}
