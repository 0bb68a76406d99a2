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
import { open, rename } from 'node:fs/promises'
import { join } from 'node:path'
import type { Snapshot } from '../lib/consensus/types.js'
import { dataCrc, decodeSnapshotMeta, encodeSnapshotMeta, type StoredSnapshotMeta } from './codec.js'
import { StorageCorruptError } from './errors.js'
import { syncDirectory } from './sync-directory.js'

const FILE = 'snapshot'
const TMP = 'snapshot.tmp'

/** A snapshot read back and verified. */
export interface ReadSnapshot {
  readonly stored: StoredSnapshotMeta
  readonly data: Uint8Array
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

/**
 * Reads a whole file with as few reads as the OS allows: `readFile` reads in 512 KiB steps,
 * each a thread-pool round trip, which for a snapshot of hundreds of MiB on a busy machine
 * costs more than the disk.
 */
async function readWhole (path: string): Promise<Buffer> {
  const file = await open(path, 'r')
  try {
    const { size } = await file.stat()
    const buf = Buffer.allocUnsafe(size)
    let done = 0
    while (done < size) {
      const { bytesRead } = await file.read(buf, done, size - done, done)
      if (bytesRead === 0) break
      done += bytesRead
    }
    return done === size ? buf : buf.subarray(0, done)
  } finally {
    await file.close()
  }
}

/**
 * Reads and verifies the snapshot in `dir`, or returns undefined when there is none. Rejects
 * with {@link StorageCorruptError} when it fails its checksums.
 */
export async function readSnapshotFile (dir: string): Promise<ReadSnapshot | undefined> {
  let buf: Buffer
  try {
    buf = await readWhole(join(dir, FILE))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  const metaBytes = buf.length >= 4 ? buf.readUInt32BE(0) : -1
  const stored = metaBytes < 0 || 4 + metaBytes > buf.length ? undefined : decodeSnapshotMeta(buf.subarray(4, 4 + metaBytes))
  if (stored === undefined) throw new StorageCorruptError('snapshot', 'snapshot meta fails its checksum')
  const data = buf.subarray(4 + metaBytes)
  if (data.length !== stored.dataBytes || dataCrc(data, 0) !== stored.dataCrc) {
    throw new StorageCorruptError('snapshot', `snapshot data at index ${stored.meta.index} fails its checksum`)
  }
  return { stored, data: new Uint8Array(data.buffer, data.byteOffset, data.length) }
}
