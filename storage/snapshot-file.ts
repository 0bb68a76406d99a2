/**
 * The snapshot of `FileStorage`: one file, replaced atomically.
 *
 * Owns: the file `snapshot` in the storage's directory and its temporary sibling. Layout:
 * `metaBytes u32 · meta · data`, where `meta` is the sealed snapshot meta of `codec.ts` (CRC
 * over itself; `chunkCount` is 1, the whole data) carrying the data's length and CRC32.
 *
 * Invariants: the file at `snapshot` is always a complete snapshot, old or new — a new one is
 * written to `snapshot.tmp`, fsynced, renamed over it and the directory fsynced, so a crash
 * leaves one or the other, never a mix. Must not touch: the log segments.
 */
import { open, rename, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { assert } from '../lib/assert.js'
import type { Snapshot } from '../lib/consensus/types.js'
import { dataCrc, decodeSnapshotMeta, encodeSnapshotMeta, type StoredSnapshotMeta } from './codec.js'
import { StorageCorruptError } from './errors.js'
import type { SnapshotSource } from './storage.js'
import { syncDirectory } from './sync-directory.js'

const FILE = 'snapshot'
const TMP = 'snapshot.tmp'

/** The stored snapshot found on open: its verified meta, and its data to read once. */
export interface OpenedSnapshot {
  readonly stored: StoredSnapshotMeta
  readonly source: SnapshotFileSource
}

/**
 * Writes `snapshot` durably in `dir`, replacing the previous one atomically. Resolves once
 * the new file and its name are on disk.
 */
export async function writeSnapshotFile (dir: string, snapshot: Snapshot): Promise<void> {
  const { meta, data } = snapshot
  const header = encodeSnapshotMeta({ meta, dataBytes: data.length, chunkCount: 1, dataCrc: dataCrc(data, 0) })
  const prefix = Buffer.allocUnsafe(4)
  prefix.writeUInt32BE(header.length, 0)
  const tmp = join(dir, TMP)
  const file = await open(tmp, 'w')
  try {
    await file.writev([prefix, header, data])
    await file.sync()
  } finally {
    await file.close()
  }
  await rename(tmp, join(dir, FILE))
  await syncDirectory(dir)
}

/** Bytes read per step: small enough to stay in cache and be reused, large enough to amortise a read. */
const READ_BYTES = 1 << 20

/**
 * Opens the snapshot in `dir` and checks its meta, or returns undefined when there is none.
 * The data is not read yet: the returned source streams it (and verifies its checksum then).
 * Rejects with {@link StorageCorruptError} when the meta fails its checksum or the file's
 * length does not match it.
 */
export async function openSnapshotFile (dir: string): Promise<OpenedSnapshot | undefined> {
  let file: FileHandle
  try {
    file = await open(join(dir, FILE), 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  try {
    const { size } = await file.stat()
    const prefix = Buffer.alloc(4)
    const metaBytes = size >= 4 && (await file.read(prefix, 0, 4, 0)).bytesRead === 4 ? prefix.readUInt32BE(0) : -1
    let stored: StoredSnapshotMeta | undefined
    if (metaBytes >= 0 && 4 + metaBytes <= size) {
      const meta = Buffer.alloc(metaBytes)
      if ((await file.read(meta, 0, metaBytes, 4)).bytesRead === metaBytes) stored = decodeSnapshotMeta(meta)
    }
    if (stored === undefined) throw new StorageCorruptError('snapshot', 'snapshot meta fails its checksum')
    if (size - 4 - metaBytes !== stored.dataBytes) {
      throw new StorageCorruptError('snapshot', `snapshot data at index ${stored.meta.index} is ${size - 4 - metaBytes} bytes, not the ${stored.dataBytes} its meta says`)
    }
    return { stored, source: new SnapshotFileSource(file, 4 + metaBytes, stored) }
  } catch (err) {
    await file.close()
    throw err
  }
}

/**
 * The data of an opened snapshot file, read in pieces into one reused buffer — a buffer the
 * size of the snapshot (hundreds of MiB for millions of znodes) costs more in first-touched
 * memory than the reading. Holds the file open until read or closed, so a snapshot written
 * meanwhile (renamed over it) does not change what it reads.
 */
export class SnapshotFileSource implements SnapshotSource {
  readonly bytes: number
  #file: FileHandle | undefined

  constructor (file: FileHandle, private readonly offset: number, private readonly stored: StoredSnapshotMeta) {
    this.#file = file
    this.bytes = stored.dataBytes
  }

  async pipeTo (write: (chunk: Uint8Array) => void): Promise<void> {
    const file = this.#file
    assert(file !== undefined, 'a snapshot source is read once, before the storage closes')
    this.#file = undefined
    try {
      const buf = Buffer.allocUnsafe(Math.min(READ_BYTES, Math.max(1, this.bytes)))
      let crc = 0
      let failure: unknown
      for (let done = 0; done < this.bytes;) {
        const { bytesRead } = await file.read(buf, 0, Math.min(buf.length, this.bytes - done), this.offset + done)
        if (bytesRead === 0) throw new StorageCorruptError('snapshot', `snapshot data at index ${this.stored.meta.index} ends early`)
        const chunk = buf.subarray(0, bytesRead)
        crc = dataCrc(chunk, crc)
        done += bytesRead
        // Bytes that fail to decode are most likely damaged: read on, so that the checksum
        // decides which error to report.
        if (failure === undefined) {
          try {
            write(chunk)
          } catch (err) {
            failure = err
          }
        }
      }
      if (crc !== this.stored.dataCrc) throw new StorageCorruptError('snapshot', `snapshot data at index ${this.stored.meta.index} fails its checksum`)
      if (failure !== undefined) throw failure
    } finally {
      await file.close()
    }
  }

  /** Closes the file if it was not read. */
  async close (): Promise<void> {
    const file = this.#file
    this.#file = undefined
    await file?.close()
  }
}
