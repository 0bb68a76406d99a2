/**
 * A simulated node: a small host around one consensus core that follows the Ready contract
 * (persist → install snapshot → send → apply → advance) over a {@link SimDisk}, or its
 * asynchronous-write variant (issue the write, send the leader's messages, apply, advance at
 * once; send the rest and report `persisted` when the disk completes it), applies committed
 * entries to a trivial state machine (the list of applied entry keys) and snapshots it now and
 * then so snapshot transfer is exercised (some snapshots are handed to the core while still being
 * written, as a host encoding in steps does). A received snapshot is assembled from the Ready's
 * pieces, checking they come in order from one transfer and add up to what is installed. A crash drops the core and every pending disk write;
 * a restart rebuilds both from what was durable.
 */
import { assert } from '../../lib/assert.js'
import { isLeaderMessage, type Message } from '../../lib/consensus/messages.js'
import type { Entry, HardState, OutgoingSnapshot, PeerId, Ready, ReadState, Snapshot, SnapshotMeta, SnapshotPiece } from '../../lib/consensus/types.js'
import type { RaftCoreConfig } from '../../lib/consensus/core.js'
import type { SimClock } from './clock.js'
import { SimDisk } from './disk.js'
import type { CoreFactory, SimCore } from './sim-core.js'

/** What a node keeps durable. */
export interface RaftDiskState {
  hardState: HardState
  snapshot: Snapshot | undefined
  /** Entries after the snapshot, contiguous. */
  entries: Entry[]
}

/** What the simulation observes from a node. */
export interface NodeHooks {
  send (m: Message): void
  onApply (node: SimNode, entry: Entry): void
  onSnapshotInstalled (node: SimNode, snap: Snapshot): void
  onReadState (node: SimNode, rs: ReadState): void
}

/** Static settings of a node. */
export interface NodeSettings {
  readonly core: Omit<RaftCoreConfig, 'id' | 'durable'>
  /** Take a snapshot once this many entries were applied since the last one. */
  readonly snapshotEvery: number
  /**
   * Follow the Ready contract's asynchronous writes: later Readies are processed while earlier
   * writes are still on their way to the disk.
   */
  readonly asyncWrites?: boolean
}

const text = new TextDecoder()
const bytes = new TextEncoder()

/** The state machine's record of an entry: its term and data (empty data: a leader no-op). */
export function entryKey (e: Entry): string {
  return `${e.term}:${text.decode(e.data)}`
}

/** One simulated host. */
export class SimNode {
  core: SimCore | undefined
  readonly disk: SimDisk<RaftDiskState>
  /** The state machine: keys of applied entries, `keys[i]` for index i + 1. */
  keys: string[] = []
  appliedTerm = 0
  /** Index of the host's latest snapshot. */
  private snapIndex = 0
  private busy = false
  private incarnation = 0
  /** Snapshots the core was handed (see snapshotToSend). */
  private snapshotsTaken = 0
  /** Pieces of the snapshot being received (volatile: a crash loses them). */
  private receiving: SnapshotPiece[] = []

  constructor (
    readonly id: PeerId,
    private readonly clock: SimClock,
    private readonly settings: NodeSettings,
    private readonly makeCore: CoreFactory,
    private readonly hooks: NodeHooks,
    diskLatencyMs: () => number,
  ) {
    this.disk = new SimDisk<RaftDiskState>(clock, {
      hardState: { term: 0, vote: null, commit: 0 }, snapshot: undefined, entries: [],
    }, diskLatencyMs)
    this.start()
  }

  /** Index of the last applied entry. */
  get appliedIndex (): number {
    return this.keys.length
  }

  /** Builds a core and state machine from the durable state. */
  start (): void {
    assert(this.core === undefined, 'start a stopped node')
    const s = this.disk.state()
    this.core = this.makeCore({
      ...this.settings.core,
      id: this.id,
      durable: {
        hardState: s.hardState,
        snapshot: s.snapshot?.meta,
        entries: s.entries.slice(),
      },
      takeSnapshot: () => this.snapshotToSend(),
    })
    this.keys = s.snapshot === undefined ? [] : decodeKeys(s.snapshot.data)
    this.appliedTerm = s.snapshot?.meta.term ?? 0
    this.snapIndex = s.snapshot?.meta.index ?? 0
    this.busy = false
    this.pump()
  }

  /**
   * The core's snapshot source. Every other one is handed over as if still being encoded: its
   * bytes become final a quarter at a time, a millisecond apart, and the core is told of each.
   */
  private snapshotToSend (): OutgoingSnapshot {
    const meta = { index: this.appliedIndex, term: this.appliedTerm, voters: this.settings.core.voters }
    const data = bytes.encode(JSON.stringify(this.keys))
    this.snapshotsTaken++
    if (this.snapshotsTaken % 2 === 0) return { meta, data }
    let written = 0
    const incarnation = this.incarnation
    const grow = (): void => {
      if (incarnation !== this.incarnation || this.core === undefined) return
      written = Math.min(data.length, written + Math.ceil(data.length / 4))
      this.core.snapshotWritten()
      this.pump()
      if (written < data.length) this.clock.after(1, grow)
    }
    this.clock.after(1, grow)
    return { meta, data, written: () => written }
  }

  /** Loses the core, the state machine and every write not yet durable. */
  crash (): void {
    this.core = undefined
    this.disk.crash()
    this.incarnation++
    this.busy = false
    this.receiving = []
  }

  /** Feeds a message if the node is up. */
  receive (m: Message): void {
    if (this.core === undefined) return
    this.core.step(m)
    this.pump()
  }

  /** One clock tick if the node is up. */
  tick (): void {
    if (this.core === undefined) return
    this.core.tick()
    this.pump()
  }

  /** Proposes `data`; false when down or refused. */
  propose (data: string): boolean {
    if (this.core === undefined) return false
    const ok = this.core.propose(bytes.encode(data))
    this.pump()
    return ok
  }

  /** The transport lost its connection with `peer` (it crashed, or a reset), if the node is up. */
  peerDisconnected (peer: PeerId): void {
    if (this.core === undefined) return
    this.core.peerDisconnected(peer)
    this.pump()
  }

  /** Requests a read permit; false when down or refused. */
  readIndex (ctx: string): boolean {
    if (this.core === undefined) return false
    const ok = this.core.readIndex(ctx)
    this.pump()
    return ok
  }

  /** Starts processing the next Ready, if any and none is in progress. */
  private pump (): void {
    const core = this.core
    if (core === undefined || this.busy || !core.hasReady()) return
    const rd = core.ready()
    const snapshot = this.takePieces(rd)
    if (this.settings.asyncWrites === true && snapshot === undefined) {
      this.pumpAsync(core, rd)
      return
    }
    this.busy = true
    const incarnation = this.incarnation
    const finish = (): void => {
      if (incarnation !== this.incarnation) return
      if (snapshot !== undefined) {
        this.keys = decodeKeys(snapshot.data)
        assert(this.keys.length === snapshot.meta.index, 'snapshot holds its index of entries')
        this.appliedTerm = snapshot.meta.term
        this.snapIndex = snapshot.meta.index
        this.hooks.onSnapshotInstalled(this, snapshot)
      }
      for (const m of rd.messages) this.hooks.send(m as Message)
      this.applyAndRead(rd)
      core.advance(rd)
      this.busy = false
      this.maybeSnapshot(core)
      this.pump()
    }
    if (snapshot === undefined && rd.hardState === undefined && rd.entries.length === 0) {
      // Nothing to persist: everything it depends on is durable already (the synchronous host
      // never has a write in flight here).
      this.clock.after(0, finish)
    } else {
      this.disk.write((s) => persist(s, snapshot, rd.hardState, rd.entries), finish)
    }
  }

  /**
   * The asynchronous variant: the write is queued, the leader's messages go and committed
   * entries are applied now; the other messages wait for the disk to complete this write (and,
   * FIFO, every earlier one). A Ready without a write still queues an empty one when its
   * messages must wait for writes in flight.
   */
  private pumpAsync (core: SimCore, rd: Ready): void {
    const incarnation = this.incarnation
    const held: Message[] = []
    for (const m of rd.messages as readonly Message[]) {
      if (isLeaderMessage(m)) this.hooks.send(m)
      else held.push(m)
    }
    const writes = rd.hardState !== undefined || rd.entries.length > 0
    if (writes || (held.length > 0 && this.disk.pending() > 0)) {
      this.disk.write((s) => { if (writes) persist(s, undefined, rd.hardState, rd.entries) }, () => {
        if (incarnation !== this.incarnation || this.core !== core) return
        for (const m of held) this.hooks.send(m)
        if (writes) {
          core.persisted(rd)
          this.pump()
        }
      })
    } else {
      for (const m of held) this.hooks.send(m)
    }
    this.applyAndRead(rd)
    core.advance(rd, { durable: false })
    this.maybeSnapshot(core)
    // Later Readies come on the next event, as a host's loop would take them.
    this.busy = true
    this.clock.after(0, () => {
      if (incarnation !== this.incarnation) return
      this.busy = false
      this.pump()
    })
  }

  /**
   * Follows the pieces of a received snapshot as a host that decodes them on arrival would, and
   * returns the snapshot `rd` completes, assembled from them.
   */
  private takePieces (rd: Ready): Snapshot | undefined {
    if (rd.snapshotAbandoned) this.receiving = []
    for (const p of rd.snapshotPieces) {
      if (p.offset === 0) this.receiving = []
      const first = this.receiving[0]
      const last = this.receiving[this.receiving.length - 1]
      if (first !== undefined && last !== undefined) {
        assert(p.meta.index === first.meta.index && p.meta.term === first.meta.term && p.term === first.term, 'pieces of one transfer')
        assert(p.offset === last.offset + last.data.length && p.totalBytes === first.totalBytes, 'pieces in order, without gaps')
      }
      this.receiving.push(p)
    }
    if (rd.snapshot === undefined) return undefined
    const pieces = this.receiving
    this.receiving = []
    const first = pieces[0]
    const last = pieces[pieces.length - 1]
    assert(first !== undefined && last !== undefined && first.offset === 0, 'a received snapshot starts at offset 0')
    assert(first.meta.index === rd.snapshot.index && first.meta.term === rd.snapshot.term, 'the pieces are of the snapshot installed')
    assert(last.offset + last.data.length === first.totalBytes, 'a received snapshot is complete')
    const data = new Uint8Array(first.totalBytes)
    for (const p of pieces) data.set(p.data, p.offset)
    return { meta: rd.snapshot, data }
  }

  private applyAndRead (rd: Ready): void {
    for (const e of rd.committed) {
      assert(e.index === this.appliedIndex + 1, 'apply in log order without gaps')
      this.keys.push(entryKey(e))
      this.appliedTerm = e.term
      this.hooks.onApply(this, e)
    }
    for (const rs of rd.readStates) this.hooks.onReadState(this, rs)
  }

  private maybeSnapshot (core: SimCore): void {
    const index = this.appliedIndex
    if (index - this.snapIndex < this.settings.snapshotEvery) return
    this.snapIndex = index
    const meta: SnapshotMeta = { index, term: this.appliedTerm, voters: this.settings.core.voters }
    const data = bytes.encode(JSON.stringify(this.keys))
    core.compact(meta)
    this.disk.write((s) => {
      const base = s.snapshot?.meta.index ?? 0
      if (base >= index) return
      const drop = index - base
      assert(drop <= s.entries.length, 'a snapshot covers only durable entries')
      assert(s.entries[drop - 1].term === meta.term, 'snapshot term matches the durable log')
      s.entries.splice(0, drop)
      s.snapshot = { meta, data }
    }, () => {})
  }
}

function persist (s: RaftDiskState, snapshot: Snapshot | undefined, hardState: HardState | undefined, entries: readonly Entry[]): void {
  if (snapshot !== undefined) {
    s.snapshot = snapshot
    s.entries = []
  }
  if (hardState !== undefined) s.hardState = hardState
  if (entries.length > 0) {
    const base = s.snapshot?.meta.index ?? 0
    const keep = entries[0].index - base - 1
    assert(keep >= 0 && keep <= s.entries.length, 'stored log stays contiguous')
    s.entries.length = keep
    for (const e of entries) s.entries.push(e)
  }
}

function decodeKeys (data: Uint8Array): string[] {
  const v: unknown = JSON.parse(text.decode(data))
  assert(Array.isArray(v), 'snapshot is a key list')
  return v.map(String)
}
