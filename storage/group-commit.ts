/**
 * Group commit: many writers, one synced batch at a time.
 *
 * Owns: the queue of writes waiting for the disk. While one batch is being written, every new
 * write appends its operations to the *next* batch; when the current batch is durable, its
 * writers' promises resolve in call order and, once their continuations and the `gather` wait
 * have run, the next batch goes down whole, with one sync. A sync costs about the same for one
 * entry as for a hundred, so throughput grows with concurrency while a lone writer still pays
 * only one sync.
 *
 * Invariants: batches are committed strictly one after another, in submission order; a writer
 * is resolved only after every write submitted before it is durable. After a failed batch
 * nothing is trusted any more (the in-memory state no longer matches the disk, and a failed
 * fsync may have dropped pages — PostgreSQL's "fsyncgate"), so that batch, every queued write
 * and every later write reject with the same error.
 *
 * Must not touch: what the operations mean (see `level.ts`).
 */
import type { BatchOp } from './db.js'

interface Waiter {
  readonly resolve: () => void
  readonly reject: (err: Error) => void
}

interface Group<Op> {
  readonly ops: Op[]
  readonly waiters: Waiter[]
}

/** Commits one batch durably (e.g. `db.batch(ops, { sync: true })`). */
export type CommitBatch = (ops: BatchOp[]) => Promise<void>

/**
 * Resolves when a batch should be cut: writes submitted before then share it. Awaited before
 * the first batch and between batches.
 */
export type Gather = () => Promise<void>

/** Waits one microtask: every write issued in the same synchronous run shares the batch. */
export const sameTick: Gather = () => Promise.resolve()

/** A queue that coalesces writes (lists of `Op`) into as few durable batches as the disk allows. */
export class GroupCommit<Op = BatchOp> {
  readonly #commit: (ops: Op[]) => Promise<void>
  readonly #gather: Gather
  #next: Group<Op> = { ops: [], waiters: [] }
  #running: Promise<void> | undefined
  #failure: Error | undefined
  /** The promise of the last write submitted. */
  #last: Promise<void> = Promise.resolve()

  /** `commit` makes one batch durable; `gather` decides how long the first batch waits for company. */
  constructor (commit: (ops: Op[]) => Promise<void>, gather: Gather = sameTick) {
    this.#commit = commit
    this.#gather = gather
  }

  /**
   * Queues `ops` for the next batch and resolves once they (and every earlier write) are
   * durable. Writes submitted in the same tick share the first batch; writes submitted while a
   * batch is in flight share the batch after it.
   */
  submit (ops: readonly Op[]): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    const next = this.#next
    for (const op of ops) next.ops.push(op)
    const done = new Promise<void>((resolve, reject) => { next.waiters.push({ resolve, reject }) })
    this.#running ??= this.#run()
    this.#last = done
    return done
  }

  /**
   * Resolves once every write submitted so far is durable (rejects if one failed), without
   * waiting for writes submitted later: a place in the call order for something that needs no
   * batch of its own.
   */
  settled (): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    return this.#last
  }

  /** Resolves once every submitted write has been committed or has failed. */
  async drain (): Promise<void> {
    while (this.#running !== undefined) await this.#running
  }

  async #run (): Promise<void> {
    // Let writes issued right after the first one join its batch.
    await this.#gather()
    while (this.#next.waiters.length > 0) {
      const group = this.#next
      this.#next = { ops: [], waiters: [] }
      try {
        await this.#commit(group.ops)
      } catch (cause) {
        this.#fail(cause, group)
        break
      }
      for (const waiter of group.waiters) waiter.resolve()
      // What the writers do once durable (send acknowledgements, apply, queue more writes)
      // goes before the next batch, which may block the event loop while it syncs: one
      // microtask lets their continuations run (and hand messages to the transport, which
      // flushes on its own immediate), then `gather` waits as long as before the first batch.
      await Promise.resolve()
      if (this.#next.waiters.length > 0) await this.#gather()
    }
    this.#running = undefined
  }

  #fail (cause: unknown, group: Group<Op>): void {
    const failure = cause instanceof Error ? cause : new Error(String(cause))
    this.#failure = failure
    const queued = this.#next
    this.#next = { ops: [], waiters: [] }
    for (const waiter of group.waiters) waiter.reject(failure)
    for (const waiter of queued.waiters) waiter.reject(failure)
  }
}
