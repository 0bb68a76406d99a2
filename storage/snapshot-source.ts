/**
 * A {@link SnapshotSource} over snapshot data a storage already holds in memory, verified.
 */
import type { SnapshotSource } from './storage.js'

/** A source handing over `pieces` (the data, in order) as they are: nothing is copied. */
export function memorySnapshotSource (pieces: readonly Uint8Array[]): SnapshotSource {
  let bytes = 0
  for (const p of pieces) bytes += p.length
  return {
    bytes,
    async pipeTo (write) {
      for (const p of pieces) write(p)
    },
  }
}
