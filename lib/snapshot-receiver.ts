/**
 * The follower's side of a snapshot transfer: decodes the pieces the consensus core hands over
 * (Ready.snapshotPieces) as they arrive, so that decoding overlaps the transfer and no buffer
 * of the whole snapshot's size is ever filled — unless the storage must write the bytes, in
 * which case it keeps the pieces to join them once. It owns the partly decoded state and drops
 * it whenever the core says the transfer it came from is abandoned or starts over.
 */
import { assert } from './assert.js'
import type { SnapshotMeta, SnapshotPiece } from './consensus/types.js'
import { StateMachine } from './state-machine.js'
import type { StreamDecoder } from './tree/snapshot.js'

/** A received snapshot, decoded: its state machine and, if kept, its bytes. */
export interface ReceivedSnapshot {
  readonly sm: StateMachine
  /** The snapshot's bytes when the receiver keeps them; empty otherwise. */
  readonly data: Uint8Array
  readonly bytes: number
  /** Milliseconds from its first piece until decoded. */
  readonly ms: number
}

/** A decoder for one snapshot, and what to call once it is done with (finished or dropped). */
export interface SnapshotDecoding {
  readonly decoder: StreamDecoder<StateMachine>
  readonly close: () => void
}

/** The transfer being received. */
interface Transfer {
  readonly meta: SnapshotMeta
  readonly term: number
  readonly totalBytes: number
  readonly decoding: SnapshotDecoding
  /** The pieces, for a storage that stores the bytes. */
  readonly kept: Uint8Array[] | undefined
  received: number
  readonly startMs: number
}

const EMPTY = new Uint8Array(0)

/** Decodes a snapshot from the core's pieces; see the module comment. */
export class SnapshotReceiver {
  #transfer: Transfer | undefined

  /**
   * `keepBytes`: also return the snapshot's bytes (a storage that stores them). `breathe`
   * resolves after a turn of the host's event loop, taken between decoded steps of
   * `stepBytes`. `nowMs` is a monotonic clock. `open` gives the decoder for a snapshot of so
   * many bytes.
   */
  constructor (
    private readonly keepBytes: boolean,
    private readonly stepBytes: number,
    private readonly breathe: () => Promise<void>,
    private readonly nowMs: () => number,
    private readonly open: (totalBytes: number) => SnapshotDecoding = () => ({ decoder: StateMachine.snapshotDecoder(), close: () => {} }),
  ) {}

  /** Bytes received of the transfer under way (0 when none). */
  get receivedBytes (): number {
    return this.#transfer?.received ?? 0
  }

  /** The core abandoned the transfer: drop what was decoded of it. */
  discard (): void {
    this.#transfer?.decoding.close()
    this.#transfer = undefined
  }

  /**
   * Decodes `pieces` (one Ready's, in order), yielding to the event loop between steps. A piece
   * at offset 0 starts a new transfer. Throws on corrupt bytes.
   */
  async take (pieces: readonly SnapshotPiece[]): Promise<void> {
    for (const p of pieces) {
      if (p.offset === 0) {
        this.#transfer?.decoding.close()
        this.#transfer = {
          meta: p.meta, term: p.term, totalBytes: p.totalBytes, decoding: this.open(p.totalBytes),
          kept: this.keepBytes ? [] : undefined, received: 0, startMs: this.nowMs(),
        }
      }
      const t = this.#transfer
      assert(t !== undefined && t.received === p.offset && t.meta.index === p.meta.index && t.term === p.term, 'snapshot pieces come in order from one transfer')
      t.kept?.push(p.data)
      t.received += p.data.length
      for (let at = 0; at < p.data.length; at += this.stepBytes) {
        await this.breathe()
        try {
          t.decoding.decoder.write(p.data.subarray(at, at + this.stepBytes))
        } catch (err) {
          this.discard()
          throw err
        }
      }
    }
  }

  /**
   * The core accepted the complete snapshot `meta`, whose last piece came in the same Ready:
   * returns it decoded. Throws if the bytes were cut short.
   */
  finish (meta: SnapshotMeta): ReceivedSnapshot {
    const t = this.#transfer
    this.#transfer = undefined
    assert(t !== undefined && t.meta.index === meta.index && t.meta.term === meta.term, 'the snapshot installed is the one received')
    assert(t.received === t.totalBytes, 'a received snapshot is complete')
    let sm: StateMachine
    try {
      sm = t.decoding.decoder.finish()
    } finally {
      t.decoding.close()
    }
    return { sm, data: t.kept === undefined ? EMPTY : join(t.kept, t.totalBytes), bytes: t.totalBytes, ms: this.nowMs() - t.startMs }
  }
}

/** Joins pieces into one buffer of `total` bytes. */
function join (pieces: readonly Uint8Array[], total: number): Uint8Array {
  if (pieces.length === 1) return pieces[0]!
  const out = new Uint8Array(total)
  let at = 0
  for (const p of pieces) {
    out.set(p, at)
    at += p.length
  }
  return out
}
