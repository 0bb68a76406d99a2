/**
 * How the tree gets the large buffers it fills at once when decoding a snapshot (its columns,
 * its path index, the data block): injected, so that a host can hand out memory it warms up
 * elsewhere (see `lib/memory-warmer.ts`) while the tree itself stays free of threads and I/O.
 */

/**
 * Returns a zero-filled buffer of `bytes`, of which the first `willFill` are about to be
 * written in order (the rest may never be: leave it untouched).
 */
export type Allocate = (bytes: number, willFill: number) => ArrayBufferLike

/** Plain process memory, touched only as it is written. */
export const plainAllocate: Allocate = (bytes) => new ArrayBuffer(bytes)
