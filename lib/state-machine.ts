/**
 * The replicated state machine: the znode tree plus the session table, changed only by applying
 * committed log entries in order. Deterministic: every input (time, session id, the writer's
 * auth ids) is read from the entry, so every peer that applies the same log holds the same
 * state. The zxid of a transaction is its entry's index.
 */
import { Packr } from 'msgpackr'
import { assert } from './assert.js'
import { CommandDecodeError } from './command-codec.js'
import { decodeCommand, type Command } from './commands.js'
import type { Entry } from './consensus/types.js'
import { SessionTable, type AttachVerdict, type SeqVerdict, type SessionRow } from './session/session-table.js'
import { DataTree } from './tree/data-tree.js'
import type { Allocate } from './tree/allocate.js'
import type { EncodeProgress, StreamDecoder } from './tree/snapshot.js'
import type { ApplyResult } from './tree/txn.js'
import type { TreeChange } from './tree/types.js'

/** What applying one entry did, for the peer to resolve requests and fire watches. */
export type Applied =
  | { readonly t: 'noop' }
  | { readonly t: 'open', readonly origin: string, readonly nonce: string, readonly sessionId: bigint }
  | { readonly t: 'attach', readonly origin: string, readonly nonce: string, readonly sessionId: bigint, readonly verdict: AttachVerdict, readonly previousOwner: string | undefined }
  | { readonly t: 'close', readonly sessionId: bigint, readonly expired: boolean, readonly wasLive: boolean, readonly changes: readonly TreeChange[] }
  | { readonly t: 'write', readonly sessionId: bigint, readonly seq: number, readonly verdict: SeqVerdict, readonly result: ApplyResult | undefined }
  | { readonly t: 'reap', readonly path: string, readonly result: ApplyResult }

const snapshotPackr = new Packr({ useRecords: false, mapsAsObjects: true })
/** Version 6: the tree's format ZKT5 (data in one block) and movable sessions (owner epoch, password). Older snapshots are not read. */
const SNAPSHOT_VERSION = 6

/** The tree and the session table, advanced one committed entry at a time. */
export class StateMachine {
  /** The index of the last applied entry (the last zxid). */
  appliedIndex: number
  /** The time of the last applied transaction, as the leader stamped it (the leader never stamps earlier). */
  lastTimeMs: number

  constructor (
    readonly tree: DataTree = new DataTree(),
    readonly sessions: SessionTable = new SessionTable(),
    appliedIndex = 0,
    lastTimeMs = 0,
  ) {
    this.appliedIndex = appliedIndex
    this.lastTimeMs = lastTimeMs
  }

  /** Applies the next committed entry. Entries must come in index order without gaps. */
  apply (entry: Entry): Applied {
    assert(entry.index === this.appliedIndex + 1, `apply in order: expected ${this.appliedIndex + 1}, got ${entry.index}`)
    this.appliedIndex = entry.index
    if (entry.data.length === 0) return { t: 'noop' }
    let decoded: ReturnType<typeof decodeCommand>
    try {
      decoded = decodeCommand(entry.data)
    } catch (err) {
      // The leader refuses such entries, so this is a foreign or damaged log. Every replica
      // reaches the same verdict, so skipping it keeps them identical.
      if (err instanceof CommandDecodeError) return { t: 'noop' }
      throw err
    }
    this.lastTimeMs = decoded.timeMs
    return this.applyCommand(decoded.command, entry.index, decoded.timeMs)
  }

  private applyCommand (command: Command, zxid: number, timeMs: number): Applied {
    switch (command.t) {
      case 'open': {
        // A re-sent open (after a leader change) names the session its first copy created.
        const sessionId = this.sessions.openedBy(command.origin, command.nonce) ?? BigInt(zxid)
        if (sessionId === BigInt(zxid)) this.sessions.open(sessionId, command.origin, command.timeoutMs, command.nonce, command.password)
        return { t: 'open', origin: command.origin, nonce: command.nonce, sessionId }
      }
      case 'attach': {
        const sessionId = BigInt(command.sid)
        const previousOwner = this.sessions.get(sessionId)?.owner
        const verdict = this.sessions.attach(sessionId, command.origin, command.nonce, command.password)
        return { t: 'attach', origin: command.origin, nonce: command.nonce, sessionId, verdict, previousOwner }
      }
      case 'close': {
        const sessionId = BigInt(command.sid)
        const wasLive = this.sessions.close(sessionId, command.epoch)
        let changes: readonly TreeChange[] = []
        if (wasLive) {
          const r = this.tree.apply({ kind: 'closeSession', sessionId }, { zxid, timeMs, sessionId, authIds: [] })
          if (r.ok) changes = r.changes
        }
        return { t: 'close', sessionId, expired: command.expired, wasLive, changes }
      }
      case 'write': {
        const sessionId = command.sid
        const verdict = this.sessions.admit(sessionId, command.seq)
        if (verdict !== 'apply') return { t: 'write', sessionId, seq: command.seq, verdict, result: undefined }
        const ctx = { zxid, timeMs, sessionId, authIds: command.auth }
        const result = command.multi
          ? this.tree.apply({ kind: 'multi', ops: command.ops }, ctx)
          : this.tree.apply({ kind: 'op', op: command.ops[0]! }, ctx)
        return { t: 'write', sessionId, seq: command.seq, verdict, result }
      }
      case 'reap': {
        const result = this.tree.apply({ kind: 'reap', path: command.path }, { zxid, timeMs, sessionId: 0n, authIds: [] })
        return { t: 'reap', path: command.path, result }
      }
    }
  }

  /**
   * Serializes the whole state for a consensus snapshot: a u32 length, a small msgpack header
   * (version, position, sessions), then the tree's own bytes, which the tree writes into the
   * same buffer after the header — wrapping them in msgpack, or concatenating, would copy the
   * largest part once more.
   */
  snapshot (): Uint8Array {
    return this.tree.snapshot(this.#header())
  }

  /**
   * {@link snapshot} of the state as it is at this call, encoded in steps of at most
   * `nodesPerStep` znodes while the state machine may move on (see DataTree.snapshotSteps); large
   * buffers come from `allocate`, if given.
   */
  snapshotSteps (nodesPerStep: number, allocate?: Allocate): Generator<EncodeProgress | undefined, Uint8Array, void> {
    return this.tree.snapshotSteps(nodesPerStep, this.#header(), allocate)
  }

  /** The u32 length and msgpack header that precede the tree's bytes. */
  #header (): Uint8Array {
    const header = snapshotPackr.pack({
      v: SNAPSHOT_VERSION,
      appliedIndex: this.appliedIndex,
      lastTimeMs: this.lastTimeMs,
      sessions: this.sessions.toRows(),
    })
    const prefix = new Uint8Array(4 + header.length)
    new DataView(prefix.buffer).setUint32(0, header.length)
    prefix.set(header, 4)
    return prefix
  }

  /** Rebuilds a state machine from {@link snapshot}'s output. Throws on corrupt input. */
  static restore (data: Uint8Array): StateMachine {
    const decoder = StateMachine.snapshotDecoder()
    decoder.write(data)
    return decoder.finish()
  }

  /**
   * Like {@link restore}, for bytes that arrive in pieces (read from a file, received from the
   * leader): write them in order, then `finish()` returns the state machine. The host may let
   * its event loop run between pieces. The tree's large buffers come from `allocate`.
   */
  static snapshotDecoder (allocate?: Allocate): StreamDecoder<StateMachine> {
    return new StateMachineDecoder(DataTree.snapshotDecoder(allocate))
  }
}

/** The msgpack header of a snapshot. */
interface SnapshotHeader { v: number, appliedIndex: number, lastTimeMs: number, sessions: SessionRow[] }

/** {@link StateMachine.snapshotDecoder}: gathers the u32 length and msgpack header, then streams the rest to the tree's decoder. */
class StateMachineDecoder implements StreamDecoder<StateMachine> {
  readonly #length = new Uint8Array(4)
  #header: Uint8Array | undefined
  /** Bytes of the length, then of the header, gathered so far. */
  #have = 0
  #parsed: SnapshotHeader | undefined

  constructor (private readonly tree: StreamDecoder<DataTree>) {}

  write (chunk: Uint8Array): void {
    let at = 0
    if (this.#header === undefined) {
      at = Math.min(4 - this.#have, chunk.length)
      this.#length.set(chunk.subarray(0, at), this.#have)
      this.#have += at
      if (this.#have < 4) return
      this.#header = new Uint8Array(new DataView(this.#length.buffer).getUint32(0))
      this.#have = 0
    }
    if (this.#parsed === undefined) {
      const n = Math.min(this.#header.length - this.#have, chunk.length - at)
      this.#header.set(chunk.subarray(at, at + n), this.#have)
      this.#have += n
      at += n
      if (this.#have < this.#header.length) return
      // Checked before any tree byte is decoded: another version's tree would fail obscurely.
      this.#parsed = snapshotPackr.unpack(this.#header) as SnapshotHeader
      assert(this.#parsed.v === SNAPSHOT_VERSION, `unknown snapshot version ${this.#parsed.v}`)
    }
    if (at < chunk.length) this.tree.write(at === 0 ? chunk : chunk.subarray(at))
  }

  finish (): StateMachine {
    const s = this.#parsed
    assert(s !== undefined, 'snapshot is truncated')
    return new StateMachine(this.tree.finish(), SessionTable.fromRows(s.sessions), s.appliedIndex, s.lastTimeMs)
  }
}
