/**
 * Adapters that let a whole `Peer` run inside the simulator: an {@link Env} on the SimClock, a
 * {@link Storage} on a SimDisk and a {@link TransportFactory} on a SimNetwork. They own nothing
 * of the peer; they only translate its calls into simulated events, so one seed replays a run.
 *
 * Crash model: each peer incarnation gets its own {@link Incarnation}. Killing it cancels every
 * timer the incarnation started, unplugs its transport and crashes its disk (pending writes are
 * lost); the abandoned Peer object is never called again. Promises it awaits never settle, which
 * is what a process that vanished looks like from outside.
 */
import type { Entry, HardState, Snapshot } from '../../lib/consensus/types.js'
import { seededRandom, silentLogger, type Env, type Logger } from '../../lib/env.js'
import { memorySnapshotSource } from '../../storage/snapshot-source.js'
import type { RecoveredState, Storage, StorageWrite } from '../../storage/storage.js'
import { decodePayload, encodePayload } from '../../transports/framing.js'
import type { MessageHandler, PeerLostHandler, Transport, TransportFactory } from '../../transports/transport.js'
import type { SimClock, Timer } from './clock.js'
import type { SimDisk } from './disk.js'
import type { SimNetwork } from './network.js'

/** Wall-clock epoch the simulated clock starts at, so znode times look like real dates. */
const EPOCH_MS = 1_700_000_000_000

/** One life of a peer, from `Peer.start` to its crash: the timers and handler it owns. */
export class Incarnation {
  #alive = true
  readonly #timers = new Set<Timer>()
  /** The peer's message handler once its transport started. */
  handler: MessageHandler | undefined
  /** The peer's lost-connection handler once its transport started. */
  lostHandler: PeerLostHandler | undefined

  /** Whether this incarnation still runs. */
  get alive (): boolean { return this.#alive }

  /** Tracks a timer so {@link kill} can cancel it. */
  track (timer: Timer): () => void {
    this.#timers.add(timer)
    return () => { timer.cancel(); this.#timers.delete(timer) }
  }

  /** Ends this life: no timer fires and no message is delivered from now on. */
  kill (): void {
    this.#alive = false
    for (const t of this.#timers) t.cancel()
    this.#timers.clear()
    this.handler = undefined
    this.lostHandler = undefined
  }
}

/**
 * An Env on the simulated clock for one incarnation. `skewMs` offsets the wall clock (it only
 * stamps znode times); monotonic time is the simulated time itself. `random` is seeded.
 */
export function simEnv (opts: { clock: SimClock, life: Incarnation, seed: number, skewMs: number, log?: Logger }): Env {
  const { clock, life } = opts
  return {
    clock: {
      nowMs: () => EPOCH_MS + opts.skewMs + clock.nowMs(),
      monotonicMs: () => clock.nowMs(),
      every: (ms, fn) => life.track(clock.every(ms, () => { if (life.alive) fn() })),
      after: (ms, fn) => {
        let stop = (): void => {}
        const timer = clock.after(ms, () => { stop(); if (life.alive) fn() })
        stop = life.track(timer)
        return stop
      },
    },
    random: seededRandom(opts.seed),
    log: opts.log ?? silentLogger,
  }
}

/** A logger that prefixes each record and hands it to the simulator's trace. */
export function tracingLogger (prefix: string, trace: (line: string) => void): Logger {
  const write = (lvl: string) => (msg: string, fields?: Record<string, unknown>): void => {
    const extra = fields === undefined ? '' : ' ' + JSON.stringify(fields, (_k, v: unknown) => typeof v === 'bigint' ? v.toString() : v)
    trace(`${prefix} ${lvl} ${msg}${extra}`)
  }
  return { debug: () => {}, info: write('info'), warn: write('warn'), error: write('error') }
}

/** What a peer's SimDisk holds durably: exactly what `Storage.open` recovers. */
export interface DurablePeerState {
  hardState: HardState
  snapshot: Snapshot | undefined
  /** Stored entries, contiguous, after the snapshot's compaction point. */
  log: Entry[]
}

/** A fresh, empty durable state. */
export function emptyDurableState (): DurablePeerState {
  return { hardState: { term: 0, vote: null, commit: 0 }, snapshot: undefined, log: [] }
}

/**
 * A Storage whose writes become durable only when the SimDisk completes them, in order. A
 * crash of the disk loses pending writes; their promises never settle (the writer is dead).
 * The mutations mirror VolatileStorage, so recovery sees what a real storage would.
 */
export class SimStorage implements Storage {
  constructor (private readonly disk: SimDisk<DurablePeerState>) {}

  async open (): Promise<RecoveredState> {
    const s = this.disk.state()
    const snapIndex = s.snapshot?.meta.index ?? 0
    return {
      hardState: s.hardState,
      snapshot: s.snapshot?.meta,
      snapshotData: s.snapshot === undefined ? undefined : memorySnapshotSource([s.snapshot.data]),
      entries: s.log.filter((e) => e.index > snapIndex),
      truncatedEntries: 0,
    }
  }

  write (w: StorageWrite): Promise<void> {
    // Entries are copied now: the disk must hold what was asked, not what the array becomes.
    const entries = [...(w.entries ?? [])]
    return new Promise<void>((resolve) => this.disk.write((s) => {
      if (w.snapshot !== undefined) installSnapshot(s, w.snapshot)
      if (w.hardState !== undefined) s.hardState = w.hardState
      if (entries.length > 0) {
        const first = entries[0]!.index
        const stored = s.log[0]?.index ?? first
        if (first < stored) s.log = []
        else s.log.length = Math.min(s.log.length, first - stored)
        for (const e of entries) s.log.push(e)
      }
    }, resolve))
  }

  compact (snapshot: Snapshot, keepEntries: number): Promise<void> {
    return new Promise<void>((resolve) => this.disk.write((s) => {
      s.snapshot = snapshot
      const keepFrom = snapshot.meta.index - keepEntries + 1
      const first = s.log[0]?.index
      if (first !== undefined && keepFrom > first) s.log.splice(0, keepFrom - first)
    }, resolve))
  }

  async entries (from: number, to: number): Promise<Entry[]> {
    const log = this.disk.state().log
    const first = log[0]?.index
    if (first === undefined) return []
    return log.slice(Math.max(0, from - first), Math.max(0, to - first))
  }

  async close (): Promise<void> {}
}

/** A snapshot from the leader replaces the log unless the log already holds its index (Raft §7). */
function installSnapshot (s: DurablePeerState, snapshot: Snapshot): void {
  s.snapshot = snapshot
  const first = s.log[0]?.index
  const at = first === undefined ? undefined : s.log[snapshot.meta.index - first]
  if (first !== undefined && at?.term === snapshot.meta.term) s.log.splice(0, snapshot.meta.index - first + 1)
  else s.log = []
}

/**
 * Transports on one SimNetwork. Messages are msgpack-encoded on send and decoded on delivery, as
 * the memory transport does, so a receiver never shares objects with the sender. A message is
 * delivered to the current incarnation of its recipient, if it is alive.
 */
export class SimTransports {
  readonly #lives = new Map<string, Incarnation>()

  constructor (readonly network: SimNetwork<Uint8Array>) {}

  /**
   * Reports to `to`'s current incarnation, if alive, that its connection with `peer` was lost
   * (`peer` crashed, or a reset), as a real transport would.
   */
  reportLost (to: string, peer: string): void {
    const life = this.#lives.get(to)
    if (life?.alive !== true) return
    life.lostHandler?.(peer)
  }

  /** Called by the network at delivery time. */
  deliver (to: string, from: string, payload: Uint8Array): void {
    const life = this.#lives.get(to)
    if (life?.alive !== true || life.handler === undefined) return
    life.handler(from, decodePayload(payload))
  }

  /** The factory for one incarnation: its transport sends only while it is alive. */
  factory (life: Incarnation): TransportFactory {
    return async (options, onMessage, onPeerLost): Promise<Transport> => {
      this.#lives.set(options.id, life)
      life.handler = onMessage
      life.lostHandler = onPeerLost
      return {
        listenUrl: options.listen,
        send: (to, message) => {
          if (!life.alive || to === options.id || !(to in options.peers)) return false
          this.network.send(options.id, to, encodePayload(message))
          return true
        },
        stop: async () => { life.handler = undefined; life.lostHandler = undefined },
      }
    }
  }
}
