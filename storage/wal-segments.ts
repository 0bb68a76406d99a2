/**
 * The files of `FileStorage`'s write-ahead log: numbered segments `wal-<seq>.log` in one
 * directory, appended to one group commit at a time.
 *
 * Owns: creating, appending to, truncating, reading and deleting segment files, and the one
 * file descriptor open for appending. Each append is one batch record (see `wal-format.ts`),
 * written with one `writev` at the end of the newest segment. The segment is open with
 * `O_DSYNC`, so that writev returns only once its data is durable, as if an `fdatasync`
 * followed: one system call, and off the event loop one hop to the thread pool instead of two.
 * A new segment is started (and the directory fsynced, so its name is durable too) when the
 * newest has reached `segmentBytes`. A batch never spans two segments, so every segment but the
 * newest ends with a completely synced batch.
 *
 * Segments are preallocated: once the newest segment is half full, a spare file of
 * `segmentBytes` zeros is written and synced on the thread pool, then renamed into place when
 * the next segment is started. Appends then overwrite zeros in place, so each sync flushes
 * data only; appending to a growing file makes every sync also commit the file system's
 * journal, which is shared with every other process writing to the disk. Not before half: a
 * peer that just started (and is recovering, or catching up) does not compete with a burst of
 * zeros, and a short-lived one never writes them.
 *
 * Invariants: segment numbers only grow; only the newest segment is written; an append's
 * promise (or return) means its bytes and the segment's name are on disk; the spare only
 * takes a segment's name once it is wholly zero and synced. After a failed write
 * or sync nothing here is trusted again (the page cache may have dropped the data: PostgreSQL's
 * "fsyncgate"), so every later append throws the same error.
 *
 * Must not touch: what the bytes mean (see `wal-format.ts` and `wal-replay.ts`).
 */
import {
  closeSync, constants, fdatasyncSync, ftruncateSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync,
  unlinkSync, writev, writevSync,
} from 'node:fs'
import { open, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { assert } from '../lib/assert.js'
import type { Logger } from '../lib/env.js'
import { syncDirectory, syncDirectorySync } from './sync-directory.js'
import { BATCH_HEADER_BYTES, encodeBatchHeader } from './wal-format.js'

const NAME = /^wal-(\d{16})\.log$/
/** A preallocated segment, ready to be renamed into place. */
const SPARE = 'wal-spare'
/** The spare while it is being written. */
const SPARE_TMP = 'wal-spare.tmp'
/** Zeros are written in steps of this many bytes. */
const ZERO_STEP = 1024 * 1024

/** Where an append landed: the segment and the byte offset of its first caller buffer. */
export interface Placement {
  readonly seq: number
  readonly offset: number
}

/** The file name of segment `seq`. */
export function segmentName (seq: number): string {
  return `wal-${String(seq).padStart(16, '0')}.log`
}

/** The segment numbers present in `dir`, ascending. */
export function listSegments (dir: string): number[] {
  const seqs: number[] = []
  for (const name of readdirSync(dir)) {
    const match = NAME.exec(name)
    if (match !== null) seqs.push(Number(match[1]))
  }
  return seqs.sort((a, b) => a - b)
}

/** Options of {@link WalSegments}. */
export interface WalSegmentsOptions {
  /** A new segment is started once the newest holds at least this many bytes. */
  readonly segmentBytes: number
  /**
   * Records that must open every segment, so that deleting older segments loses nothing
   * (the current hard state and the log's floor). Called when a segment is started.
   */
  readonly header: () => Buffer[]
  /** Whether appends are synced (`O_DSYNC`). Off only for throwaway data: a machine crash loses them. */
  readonly sync: boolean
  /** Whether segments are preallocated with zeros (see the module comment). */
  readonly preallocate: boolean
  /** Where a failure to preallocate is reported (appends then go to growing files). */
  readonly log: Logger
}

/** The segment files of one log directory; see the module comment. */
export class WalSegments {
  readonly #dir: string
  readonly #opts: WalSegmentsOptions
  /** Every segment on disk, ascending. */
  readonly #seqs: number[]
  #fd: number | undefined
  /** Bytes written to the newest segment: where the next append goes. */
  #end = 0
  #failure: Error | undefined
  #spare: 'none' | 'preparing' | 'ready' | 'failed' = 'none'
  /** The spare being written, if one is. */
  #preparing: Promise<void> | undefined

  /**
   * Takes over `dir` whose segments are `seqs` (from {@link listSegments}); appends continue
   * in the newest at byte `end` (the end of what replay verified), or start a first segment.
   */
  constructor (dir: string, seqs: readonly number[], end: number, opts: WalSegmentsOptions) {
    this.#dir = dir
    this.#seqs = [...seqs]
    this.#opts = opts
    this.#end = end
    const newest = this.#seqs[this.#seqs.length - 1]
    if (newest !== undefined) this.#fd = openSync(join(dir, segmentName(newest)), this.#appendFlags())
    if (opts.preallocate) {
      rmSync(join(dir, SPARE_TMP), { force: true })
      const spare = join(dir, SPARE)
      const size = statSync(spare, { throwIfNoEntry: false })?.size
      if (size === opts.segmentBytes) this.#spare = 'ready'
      else rmSync(spare, { force: true })
    }
  }

  /** The segments on disk, ascending (a copy). */
  get seqs (): number[] { return [...this.#seqs] }

  /**
   * Appends `buffers` and syncs them, blocking the event loop for the synced write (a fraction
   * of a millisecond on a local SSD, less than a hop to the thread pool).
   */
  appendSync (buffers: readonly Buffer[]): Placement {
    const at = this.#prepare()
    try {
      writevSync(at.fd, at.buffers(buffers), at.position)
    } catch (err) {
      throw this.#fail(err)
    }
    return at.done()
  }

  /** Appends `buffers` and syncs them on the thread pool, leaving the event loop free meanwhile. */
  async append (buffers: readonly Buffer[]): Promise<Placement> {
    const at = this.#prepare()
    try {
      await new Promise<void>((resolve, reject) => {
        writev(at.fd, at.buffers(buffers), at.position, (err) => { err === null ? resolve() : reject(err) })
      })
    } catch (err) {
      throw this.#fail(err)
    }
    return at.done()
  }

  /**
   * Reads `length` bytes of segment `seq` from `offset`, synchronously (so no segment can be
   * deleted in the middle of a read).
   */
  read (seq: number, offset: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length)
    const fd = openSync(join(this.#dir, segmentName(seq)), 'r')
    try {
      let done = 0
      while (done < length) {
        const n = readSync(fd, buf, done, length - done, offset + done)
        assert(n > 0, 'a recorded position lies inside its segment')
        done += n
      }
    } finally {
      closeSync(fd)
    }
    return buf
  }

  /**
   * Deletes the segments numbered below `seq`. Not synced: a deleted segment that comes back
   * after a crash holds only records that later ones supersede, so replay ignores them.
   */
  deleteBelow (seq: number): void {
    assert(seq <= (this.#seqs[this.#seqs.length - 1] ?? 0), 'the newest segment is never deleted')
    while (this.#seqs.length > 0 && this.#seqs[0]! < seq) unlinkSync(join(this.#dir, segmentName(this.#seqs.shift()!)))
  }

  /**
   * Cuts the log at byte `offset` of segment `seq`: that segment is truncated there and every
   * later one deleted, durably. Used at open to remove a torn or damaged tail.
   */
  truncate (seq: number, offset: number): void {
    this.#closeFd()
    while (this.#seqs.length > 0 && this.#seqs[this.#seqs.length - 1]! > seq) {
      unlinkSync(join(this.#dir, segmentName(this.#seqs.pop()!)))
    }
    assert(this.#seqs[this.#seqs.length - 1] === seq, 'truncating a segment that exists')
    this.#fd = openSync(join(this.#dir, segmentName(seq)), this.#appendFlags())
    ftruncateSync(this.#fd, offset)
    fdatasyncSync(this.#fd)
    syncDirectorySync(this.#dir)
    this.#end = offset
  }

  /** Waits for a spare being written, then closes the open segment. */
  async close (): Promise<void> {
    await this.#preparing
    this.#closeFd()
  }

  /** How the segment being appended to is opened: read-write, and synced on every write when syncing. */
  #appendFlags (): number {
    return constants.O_RDWR | (this.#opts.sync ? constants.O_DSYNC : 0)
  }

  #closeFd (): void {
    if (this.#fd !== undefined) closeSync(this.#fd)
    this.#fd = undefined
  }

  /**
   * Starts a new segment if there is none or the newest is full, and returns where the append
   * goes, the buffers to write (a new segment's header first) and how to record its success.
   */
  #prepare (): { fd: number, position: number, buffers: (b: readonly Buffer[]) => Buffer[], done: () => Placement } {
    if (this.#failure !== undefined) throw this.#failure
    let header: Buffer[] = []
    if (this.#fd === undefined || this.#end >= this.#opts.segmentBytes) {
      this.#roll()
      header = this.#opts.header()
    }
    if (this.#opts.preallocate && this.#spare === 'none' && this.#end >= this.#opts.segmentBytes / 2) this.#prepareSpare()
    const fd = this.#fd
    assert(fd !== undefined, 'a segment is open for appending')
    const seq = this.#seqs[this.#seqs.length - 1]!
    const position = this.#end
    let bytes = 0
    let headerBytes = BATCH_HEADER_BYTES
    for (const h of header) headerBytes += h.length
    return {
      fd,
      position,
      buffers: (b) => {
        for (const x of b) bytes += x.length
        const records = header.length === 0 ? b : [...header, ...b]
        return [encodeBatchHeader(records), ...records]
      },
      done: () => {
        this.#end = position + headerBytes + bytes
        return { seq, offset: position + headerBytes }
      },
    }
  }

  /** Starts the next segment (the spare, if ready) and makes its name durable. */
  #roll (): void {
    try {
      this.#closeFd()
      const seq = (this.#seqs[this.#seqs.length - 1] ?? 0) + 1
      const name = join(this.#dir, segmentName(seq))
      if (this.#spare === 'ready') {
        renameSync(join(this.#dir, SPARE), name)
        this.#fd = openSync(name, this.#appendFlags())
        this.#spare = 'none'
      } else {
        this.#fd = openSync(name, this.#appendFlags() | constants.O_CREAT | constants.O_EXCL)
      }
      this.#seqs.push(seq)
      this.#end = 0
      syncDirectorySync(this.#dir)
    } catch (err) {
      throw this.#fail(err)
    }
  }

  /** Writes the next spare on the thread pool: zeros, synced, then renamed to its final name. */
  #prepareSpare (): void {
    this.#spare = 'preparing'
    const write = async (): Promise<void> => {
      const tmp = join(this.#dir, SPARE_TMP)
      const file = await open(tmp, 'w')
      try {
        const zeros = Buffer.alloc(Math.min(ZERO_STEP, this.#opts.segmentBytes))
        for (let at = 0; at < this.#opts.segmentBytes; at += zeros.length) {
          await file.write(zeros, 0, Math.min(zeros.length, this.#opts.segmentBytes - at), at)
        }
        await file.sync()
      } finally {
        await file.close()
      }
      await rename(tmp, join(this.#dir, SPARE))
      await syncDirectory(this.#dir)
    }
    this.#preparing = write().then(() => {
      this.#spare = 'ready'
    }, (err: unknown) => {
      this.#spare = 'failed'
      this.#opts.log.warn('storage: could not preallocate a log segment; appending to growing files', { error: String(err) })
    }).finally(() => {
      this.#preparing = undefined
    })
  }

  #fail (cause: unknown): Error {
    this.#failure = cause instanceof Error ? cause : new Error(String(cause))
    return this.#failure
  }
}
