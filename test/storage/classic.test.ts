/**
 * Goal: `LevelStorage` over classic-level (LevelDB on disk, synced writes) meets the storage
 * contract, with real reopening: every reopen is a new database handle on the same directory.
 * Method: the shared conformance suite, each test in a fresh directory under the OS temp dir,
 * removed afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { storageSuite } from '../conformance/storage-suite.js'

storageSuite({
  name: 'classic-level',
  sync: true,
  async create () {
    const dir = await mkdtemp(join(tmpdir(), 'zkpeer-storage-'))
    return {
      db: () => new ClassicLevel(dir),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    }
  },
})
