/**
 * Goal: `FileStorage` (the write-ahead log in files that `dataDir` uses) meets the storage
 * contract, writes a commit-index-only hard state without a sync of its own, and recovers from
 * what a crash or a bad disk leaves behind: a torn or damaged tail
 * is cut off and never returned, damage in an older segment loses no vote, another live process
 * is kept out, a snapshot written
 * just before a crash is reconciled with the log, and compaction deletes whole old segments.
 *
 * Method: the shared contract in a fresh temp directory per test, with the defaults (small batches
 * synced on the event loop, preallocated segments, smaller: 1 MiB) and with thread-pool syncs and
 * tiny segments so that nearly every batch starts one.
 * Crashes are made by hand on the closed directory: segment files are cut short, extended with
 * garbage or zeros, or have bytes flipped; a snapshot file is written without its log record.
 */
import { spawnSync } from 'node:child_process'
import { appendFileSync, readdirSync, readFileSync, readlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ClassicLevel } from 'classic-level'
import { FileStorage, type FileStorageOptions } from '../../storage/index.js'
import { writeSnapshotFile } from '../../storage/snapshot-file.js'
import { bytes, plain, recordingLogger, run, storageContract } from '../conformance/storage-suite.js'
import { snapshotBytes } from '../helpers/snapshot-bytes.js'

/** How many of this process's file descriptors refer to `path` (Linux: /proc/self/fd). */
function openFilesAt (path: string): number {
  let n = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) n++
    } catch {}
  }
  return n
}

const tempDir = (): Promise<string> => mkdtemp(join(tmpdir(), 'zkpeer-file-storage-'))

storageContract({
  name: 'file, 1 MiB preallocated segments',
  async create () {
    const dir = await tempDir()
    return { storage: (log) => new FileStorage({ dir, log, segmentBytes: 1 << 20 }), cleanup: () => rm(dir, { recursive: true, force: true }) }
  },
})

storageContract({
  name: 'file, thread-pool syncs, 64-byte segments',
  async create () {
    const dir = await tempDir()
    return {
      storage: (log) => new FileStorage({ dir, log, blockingMaxRecords: 0, segmentBytes: 64 }),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    }
  },
})

t.test('file: crash recovery', async (t) => {
  let dir: string
  let logger: ReturnType<typeof recordingLogger>
  // Damage is made at the end of the files, so by default they grow as written (no zeros after).
  const open = (extra: Partial<FileStorageOptions> = {}): FileStorage => new FileStorage({ dir, log: logger, preallocate: false, ...extra })
  const segments = (): string[] => readdirSync(dir).filter((n) => /^wal-\d+\.log$/.test(n)).sort()
  const newest = (): string => join(dir, segments().at(-1)!)
  const seed = async (n: number, extra: Partial<FileStorageOptions> = {}): Promise<void> => {
    const storage = open(extra)
    await storage.open()
    await storage.write({ hardState: { term: 1, vote: 'a', commit: 0 } })
    for (let i = 1; i <= n; i++) await storage.write({ entries: run(i, i, 1) })
    await storage.close()
  }
  t.beforeEach(async () => {
    dir = await tempDir()
    logger = recordingLogger()
  })
  t.afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  t.test('a torn last record is cut off and never returned; appends continue after it', async (t) => {
    await seed(10)
    const file = newest()
    truncateSync(file, readFileSync(file).length - 3)
    let storage = open()
    const state = await storage.open()
    t.same(plain(state.entries), plain(run(1, 9, 1)))
    t.equal(state.truncatedEntries, 1)
    t.same(state.hardState, { term: 1, vote: 'a', commit: 0 })
    t.ok(logger.records.some((r) => r.level === 'warn' && r.msg.includes('torn')))
    await storage.write({ entries: run(10, 11, 2) })
    await storage.close()
    storage = open()
    const again = await storage.open()
    t.equal(again.truncatedEntries, 0, 'the cut was durable')
    t.same(plain(again.entries), plain([...run(1, 9, 1), ...run(10, 11, 2)]))
    await storage.close()
  })

  t.test('appends go into a preallocated segment; a torn record before its zeros is cut off', async (t) => {
    let storage = open({ preallocate: true, segmentBytes: 4096 })
    await storage.open()
    let last = 0
    const write = (): Promise<void> => {
      last++
      return storage.write({ entries: run(last, last, 1), hardState: { term: 1, vote: 'a', commit: last - 1 } })
    }
    // The spare is written once a segment is half full; the segment after it is the spare.
    while (!readdirSync(dir).includes('wal-spare')) await write()
    const before = segments().length
    while (segments().length === before) await write()
    for (let i = 0; i < 5; i++) await write()
    await storage.close()
    const file = newest()
    const buf = readFileSync(file)
    t.equal(buf.length, 4096, 'the newest segment is the renamed spare')
    let end = buf.length
    while (end > 0 && buf[end - 1] === 0) end--
    t.ok(end > 100 && end < 4096, 'written data, then zeros')
    storage = open({ preallocate: true, segmentBytes: 4096 })
    let state = await storage.open()
    t.same(plain(state.entries), plain(run(1, last, 1)))
    t.equal(state.truncatedEntries, 0)
    await storage.close()
    buf[end - 1] = buf[end - 1]! ^ 0xff
    writeFileSync(file, buf)
    storage = open({ preallocate: true, segmentBytes: 4096 })
    state = await storage.open()
    t.same(plain(state.entries), plain(run(1, last - 1, 1)), 'the torn last record is gone')
    t.equal(state.truncatedEntries, 1)
    await storage.write({ entries: run(last, last + 2, 2) })
    await storage.close()
    storage = open({ preallocate: true, segmentBytes: 4096 })
    state = await storage.open()
    t.same(plain(state.entries), plain([...run(1, last - 1, 1), ...run(last, last + 2, 2)]))
    await storage.close()
  })

  t.test('garbage after the last record is cut off; zeros after it are a clean end', async (t) => {
    await seed(5)
    appendFileSync(newest(), Buffer.alloc(4096))
    let storage = open()
    let state = await storage.open()
    t.same(plain(state.entries), plain(run(1, 5, 1)))
    t.equal(state.truncatedEntries, 0, 'zeros (never written) are not damage')
    await storage.close()
    appendFileSync(newest(), Buffer.from([0, 0, 0, 30, 1, 2, 3, 4, 5, 6, 7]))
    storage = open()
    state = await storage.open()
    t.same(plain(state.entries), plain(run(1, 5, 1)))
    t.equal(state.truncatedEntries, 1)
    await storage.close()
  })

  t.test('a flipped byte in the newest segment cuts the log there', async (t) => {
    await seed(10)
    const file = newest()
    const buf = readFileSync(file)
    // Entry records here are 8 + 1 + 16 + data bytes; flip a byte in the middle of the file.
    const at = Math.floor(buf.length / 2)
    buf[at] = buf[at]! ^ 0xff
    writeFileSync(file, buf)
    const storage = open()
    const state = await storage.open()
    t.ok(state.entries.length < 10 && state.entries.length >= 3, `kept ${state.entries.length} intact entries`)
    t.same(plain(state.entries), plain(run(1, state.entries.length, 1)), 'a prefix, contiguous')
    t.ok(state.truncatedEntries >= 1)
    await storage.close()
  })

  t.test('damage in an older segment drops the entries after it but keeps the newest vote', async (t) => {
    let storage = open({ segmentBytes: 64 })
    await storage.open()
    await storage.write({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: run(1, 3, 1) })
    await storage.write({ entries: run(4, 6, 1) })
    await storage.write({ hardState: { term: 5, vote: 'c', commit: 2 } })
    await storage.write({ entries: run(7, 7, 5) })
    await storage.close()
    const names = segments()
    t.ok(names.length >= 4, `every batch rolled a segment (${names.length})`)
    const second = join(dir, names[1]!)
    const buf = readFileSync(second)
    buf[buf.length - 2] = buf[buf.length - 2]! ^ 0xff
    writeFileSync(second, buf)
    storage = open({ segmentBytes: 64 })
    const state = await storage.open()
    t.same(plain(state.entries), plain(run(1, 3, 1)), 'entries before the damaged batch')
    t.same(state.hardState, { term: 5, vote: 'c', commit: 2 }, 'the vote of a later segment survives')
    t.ok(logger.records.some((r) => r.level === 'error'), 'damage to synced data is an error')
    await storage.write({ entries: run(4, 4, 5) })
    await storage.close()
    storage = open({ segmentBytes: 64 })
    const again = await storage.open()
    t.same(again.hardState, { term: 5, vote: 'c', commit: 2 }, 'and it was written down again')
    t.same(plain(again.entries), plain([...run(1, 3, 1), ...run(4, 4, 5)]))
    await storage.close()
  })

  t.test('a batch is recovered whole or not at all', async (t) => {
    let storage = open()
    await storage.open()
    await storage.write({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: run(1, 2, 1) })
    await storage.write({ hardState: { term: 2, vote: 'b', commit: 2 }, entries: run(3, 6, 2) })
    await storage.close()
    // Torn inside the second batch: its first records are intact on disk, its last is not.
    const file = newest()
    truncateSync(file, readFileSync(file).length - 20)
    storage = open()
    const state = await storage.open()
    t.same(state.hardState, { term: 1, vote: 'a', commit: 0 }, 'not the hard state of the torn batch')
    t.same(plain(state.entries), plain(run(1, 2, 1)), 'none of its entries')
    await storage.close()
  })

  t.test('a snapshot written just before a crash replaces a log that does not continue it', async (t) => {
    await seed(10)
    // The crash came after the snapshot file was renamed into place and before the log's reset.
    await writeSnapshotFile(dir, { meta: { index: 8, term: 2, voters: ['a'] }, data: bytes('s8') })
    let storage = open()
    const state = await storage.open()
    t.same(state.snapshot, { index: 8, term: 2, voters: ['a'] })
    t.same(state.entries, [], 'entries of term 1 around index 8 conflict with the snapshot')
    t.same(await storage.entries(1, 100), [])
    await storage.write({ entries: run(9, 10, 2) })
    await storage.close()
    storage = open()
    const again = await storage.open()
    t.same(plain(again.entries), plain(run(9, 10, 2)))
    await storage.close()
  })

  t.test('entries written as header and data pieces read back, empty data included', async (t) => {
    let storage = open()
    await storage.open()
    const entries = [
      { index: 1, term: 1, data: new Uint8Array(0) },
      { index: 2, term: 1, data: Buffer.from('two') },
      { index: 3, term: 1, data: new Uint8Array(0) },
      { index: 4, term: 1, data: Buffer.alloc(70_000, 4) },
    ]
    await storage.write({ hardState: { term: 1, vote: 'a', commit: 4 }, entries })
    await storage.write({ entries: [{ index: 5, term: 1, data: new Uint8Array(0) }] })
    await storage.close()
    storage = open()
    const state = await storage.open()
    t.equal(state.truncatedEntries, 0, 'nothing read as damaged')
    t.same(state.entries.map((e) => [e.index, Buffer.from(e.data).toString('hex')]),
      [...entries, { index: 5, term: 1, data: new Uint8Array(0) }].map((e) => [e.index, Buffer.from(e.data).toString('hex')]))
    await storage.close()
  })

  t.test('a damaged or missing snapshot refuses to start', async (t) => {
    const storage = open()
    await storage.open()
    await storage.write({ hardState: { term: 1, vote: 'a', commit: 3 }, entries: run(1, 3, 1) })
    await storage.compact({ meta: { index: 3, term: 1, voters: ['a'] }, data: bytes('0123456789') }, 0)
    await storage.close()
    const file = join(dir, 'snapshot')
    const good = readFileSync(file)
    // Damaged data is found as the data is read: the checksum, not the reader, decides the error.
    const flipped = Buffer.from(good)
    flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 0xff
    writeFileSync(file, flipped)
    let reopened = open()
    const state = await reopened.open()
    await t.rejects(state.snapshotData!.pipeTo(() => { throw new Error('cannot decode') }), { name: 'StorageCorruptError', code: 'STORAGE_CORRUPT', record: 'snapshot' })
    await reopened.close()
    // A damaged meta, or a file cut short, is refused on open.
    const badMeta = Buffer.from(good)
    badMeta[6] = badMeta[6]! ^ 0xff
    writeFileSync(file, badMeta)
    await t.rejects(open().open(), { name: 'StorageCorruptError', code: 'STORAGE_CORRUPT', record: 'snapshot' })
    writeFileSync(file, good.subarray(0, good.length - 1))
    await t.rejects(open().open(), { name: 'StorageCorruptError', record: 'snapshot' }, 'a cut file')
    // An intact one reads back whole, and a storage closed without reading it lets the file go.
    writeFileSync(file, good)
    reopened = open()
    t.same(await snapshotBytes((await reopened.open()).snapshotData), Buffer.from('0123456789'))
    await reopened.close()
    reopened = open()
    await reopened.open()
    t.ok(openFilesAt(file) > 0, 'the unread snapshot is held open')
    await reopened.close()
    t.equal(openFilesAt(file), 0, 'closing the storage closes the unread snapshot')
    await rm(file)
    await t.rejects(open().open(), { name: 'StorageCorruptError', record: 'snapshot' }, 'compacted log without a snapshot')
  })

  t.test('a commit-only hard state rides with the next batch, or is written at close', async (t) => {
    let storage = open()
    await storage.open()
    await storage.write({ hardState: { term: 2, vote: 'a', commit: 0 }, entries: run(1, 3, 2) })
    await storage.write({ hardState: { term: 2, vote: 'a', commit: 3 } })
    // A crash now: another instance reads what is on disk, without the first closing.
    const crashed = open()
    t.same((await crashed.open()).hardState, { term: 2, vote: 'a', commit: 0 }, 'not synced on its own')
    await storage.write({ entries: run(4, 4, 2) })
    const later = open()
    const state = await later.open()
    t.same(state.hardState, { term: 2, vote: 'a', commit: 3 }, 'written with the next batch')
    t.equal(state.entries.length, 4)
    await storage.write({ hardState: { term: 2, vote: 'a', commit: 4 } })
    await storage.close()
    await crashed.close()
    await later.close()
    storage = open()
    t.same((await storage.open()).hardState, { term: 2, vote: 'a', commit: 4 }, 'written at close')
    await storage.close()
  })

  t.test('another live process keeps the directory; a dead one\'s lock is taken over', async (t) => {
    writeFileSync(join(dir, 'LOCK'), String(process.ppid))
    await t.rejects(open().open(), /in use by process/)
    const gone = spawnSync(process.execPath, ['-e', '']).pid
    writeFileSync(join(dir, 'LOCK'), String(gone))
    const storage = open()
    await storage.open()
    t.equal(readFileSync(join(dir, 'LOCK'), 'utf8'), String(process.pid))
    await storage.close()
    t.notOk(readdirSync(dir).includes('LOCK'), 'released at close')
  })

  t.test('compaction deletes whole old segments and keeps what it must', async (t) => {
    let storage = open({ segmentBytes: 256 })
    await storage.open()
    await storage.write({ hardState: { term: 1, vote: 'a', commit: 0 } })
    for (let i = 1; i <= 100; i++) await storage.write({ entries: run(i, i, 1), hardState: { term: 1, vote: 'a', commit: i - 1 } })
    const before = segments().length
    await storage.compact({ meta: { index: 90, term: 1, voters: ['a'] }, data: bytes('s90') }, 5)
    const after = segments().length
    t.ok(after < before / 2, `segments: ${before} before, ${after} after`)
    t.same(plain(await storage.entries(1, 101)), plain(run(86, 100, 1)))
    await storage.close()
    storage = open({ segmentBytes: 256 })
    const state = await storage.open()
    t.same(state.hardState, { term: 1, vote: 'a', commit: 99 })
    t.same(plain(state.entries), plain(run(91, 100, 1)))
    t.same(plain(await storage.entries(1, 91)), plain(run(86, 90, 1)), 'the kept tail is still readable')
    await storage.close()
  })
})

t.test('file: a dataDir that holds an older LevelDB log is refused, never opened empty', async (t) => {
  const dir = await tempDir()
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.put(Uint8Array.of(1), Uint8Array.of(2))
  await db.close()
  await t.rejects(new FileStorage({ dir, log: recordingLogger() }).open(), /holds a LevelDB database.*db: new ClassicLevel/)
  t.same(readdirSync(dir).filter((n) => /^wal-/.test(n)), [], 'and writes no log into it')
})
