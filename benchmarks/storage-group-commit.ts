/**
 * Question: how many synced writes per second do the durable storages sustain with 1 and with
 * 64 concurrent writers (one 100-byte entry per write), i.e. what does group commit buy? And
 * how long does recovering a 100k-entry log, and a large snapshot with a log after it, take?
 * Asked of `FileStorage` (what `dataDir` uses) and of `LevelStorage` on classic-level (the `db`
 * option with a LevelDB), back to back, since the machine's disk and load vary.
 *
 * Method: a fresh directory under the OS temp dir per workload, synced writes. Writers loop
 * `await storage.write({ entries: [next entry] })`; entry indexes are taken at call time, so
 * concurrent writers still append one contiguous log. Recovery times `open()` on a new instance.
 *
 * Run: `node dist/benchmarks/storage-group-commit.js [--writes N] [--snapshot-mb M]`.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { silentLogger } from '../lib/env.js'
import type { Entry } from '../lib/consensus/types.js'
import { diskStorage, FileStorage, type Storage } from '../storage/index.js'

/** One measured figure. */
export interface Figure {
  readonly workload: string
  readonly value: number
  readonly unit: string
  readonly detail: string
}

/** A durable storage under test: a name and how to open one over a directory. */
interface Kind {
  readonly name: string
  readonly make: (dir: string, sync: boolean) => Storage
}

const KINDS: readonly Kind[] = [
  { name: 'file', make: (dir, sync) => new FileStorage({ dir, sync, log: silentLogger }) },
  { name: 'classic-level', make: (dir, sync) => diskStorage(dir, { sync, log: silentLogger }) },
]

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
function writeRate (kind: Kind, writers: number, total: number): Promise<Figure> {
  return withDir(async (dir) => {
    const storage = kind.make(dir, true)
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
      workload: `${kind.name}: synced writes, ${writers} writer${writers === 1 ? '' : 's'}`,
      value: Math.round(total / seconds),
      unit: 'writes/s',
      detail: `${total} writes of one 100-byte entry in ${seconds.toFixed(2)} s`,
    }
  })
}

/** Time for `open()` to recover a snapshot of `snapshotBytes` (0: none) and a log of `count` entries after it. */
function recoveryTime (kind: Kind, count: number, snapshotBytes: number): Promise<Figure> {
  return withDir(async (dir) => {
    const writer = kind.make(dir, false)
    await writer.open()
    let first = 1
    if (snapshotBytes > 0) {
      await writer.write({ entries: [{ index: 1, term: 1, data: DATA }] })
      await writer.compact({ meta: { index: 1, term: 1, voters: ['a'] }, data: new Uint8Array(snapshotBytes).fill(3) }, 0)
      first = 2
    }
    for (let from = first; from < first + count; from += 1000) {
      const entries: Entry[] = []
      for (let index = from; index < from + 1000 && index < first + count; index++) entries.push({ index, term: 1, data: DATA })
      await writer.write({ entries })
    }
    await writer.close()
    const reader = kind.make(dir, true)
    const start = performance.now()
    const state = await reader.open()
    const ms = performance.now() - start
    await reader.close()
    const snapshot = snapshotBytes > 0 ? `a ${(snapshotBytes / 2 ** 20).toFixed(0)} MiB snapshot and ` : ''
    return {
      workload: `${kind.name}: recovery${snapshotBytes > 0 ? ' with a snapshot' : ''}`,
      value: Math.round(ms),
      unit: 'ms',
      detail: `open() of ${snapshot}${state.entries.length} entries of 100 bytes`,
    }
  })
}

/** Runs every workload of this benchmark on both storages and returns their figures. */
export async function storageGroupCommit (opts: { readonly writes?: number, readonly snapshotMiB?: number } = {}): Promise<Figure[]> {
  const writes = opts.writes ?? 2000
  const snapshotBytes = Math.round((opts.snapshotMiB ?? 128) * 2 ** 20)
  const figures: Figure[] = []
  for (const measure of [
    (k: Kind) => writeRate(k, 1, Math.max(1, Math.floor(writes / 4))),
    (k: Kind) => writeRate(k, 64, writes * 4),
    (k: Kind) => recoveryTime(k, 100_000, 0),
    (k: Kind) => recoveryTime(k, 20_000, snapshotBytes),
  ]) {
    for (const kind of KINDS) figures.push(await measure(kind))
  }
  return figures
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name: string): number | undefined => {
    const at = process.argv.indexOf(name)
    return at === -1 ? undefined : Number(process.argv[at + 1])
  }
  for (const f of await storageGroupCommit({ writes: arg('--writes'), snapshotMiB: arg('--snapshot-mb') })) {
    console.log(`${f.workload}: ${f.value} ${f.unit} (${f.detail})`)
  }
}
