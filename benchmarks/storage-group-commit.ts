/**
 * Question: how many synced writes per second does `LevelStorage` on classic-level sustain with
 * 1 and with 64 concurrent writers (one 100-byte entry per write), i.e. what does group commit
 * buy? And how long does recovering a 100k-entry log take?
 *
 * Method: a fresh LevelDB directory under the OS temp dir per workload, `sync: true` (each
 * batch is fsynced). Writers loop `await storage.write({ entries: [next entry] })`; entry
 * indexes are taken at call time, so concurrent writers still append one contiguous log.
 *
 * Run: `node dist/benchmarks/storage-group-commit.js [--writes N]`.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { silentLogger } from '../lib/env.js'
import type { Entry } from '../lib/consensus/types.js'
import { diskStorage } from '../storage/index.js'

/** One measured figure. */
export interface Figure {
  readonly workload: string
  readonly value: number
  readonly unit: string
  readonly detail: string
}

const DATA = new Uint8Array(100).fill(7)

async function withDir<T> (fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'zkpeer-bench-storage-'))
  try {
    return await fn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Synced writes/s with `writers` concurrent writers, `total` writes in all. */
function writeRate (writers: number, total: number): Promise<Figure> {
  return withDir(async (dir) => {
    const storage = diskStorage(dir, { sync: true, log: silentLogger })
    await storage.open()
    let next = 1
    const writer = async (): Promise<void> => {
      while (next <= total) {
        const entry: Entry = { index: next++, term: 1, data: DATA }
        await storage.write({ entries: [entry] })
      }
    }
    const start = performance.now()
    await Promise.all(Array.from({ length: writers }, writer))
    const seconds = (performance.now() - start) / 1000
    await storage.close()
    return {
      workload: `storage synced writes, ${writers} writer${writers === 1 ? '' : 's'}`,
      value: Math.round(total / seconds),
      unit: 'writes/s',
      detail: `classic-level, sync, ${total} writes of one 100-byte entry in ${seconds.toFixed(2)} s`,
    }
  })
}

/** Time for `open()` to recover a log of `count` 100-byte entries. */
function recoveryTime (count: number): Promise<Figure> {
  return withDir(async (dir) => {
    const writer = diskStorage(dir, { sync: false, log: silentLogger })
    await writer.open()
    for (let from = 1; from <= count; from += 1000) {
      const entries: Entry[] = []
      for (let index = from; index < from + 1000 && index <= count; index++) entries.push({ index, term: 1, data: DATA })
      await writer.write({ entries })
    }
    await writer.close()
    const reader = diskStorage(dir, { log: silentLogger })
    const start = performance.now()
    const state = await reader.open()
    const ms = performance.now() - start
    await reader.close()
    return {
      workload: 'storage recovery',
      value: Math.round(ms),
      unit: 'ms',
      detail: `classic-level, open() of ${state.entries.length} entries of 100 bytes`,
    }
  })
}

/** Runs every workload of this benchmark and returns its figures. */
export async function storageGroupCommit (opts: { readonly writes?: number } = {}): Promise<Figure[]> {
  const writes = opts.writes ?? 2000
  return [
    await writeRate(1, Math.max(1, Math.floor(writes / 4))),
    await writeRate(64, writes * 4),
    await recoveryTime(100_000),
  ]
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const at = process.argv.indexOf('--writes')
  const writes = at === -1 ? undefined : Number(process.argv[at + 1])
  for (const f of await storageGroupCommit({ writes })) console.log(`${f.workload}: ${f.value} ${f.unit} (${f.detail})`)
}
