/**
 * `LevelStorage` over the two abstract-level databases zkpeer ships with. Apart from
 * `level.ts` so that a peer that uses neither (a dataDir, in-memory storage) does not load them
 * — a native addon and their dependencies are a good part of a process's start-up.
 */
import { mkdirSync } from 'node:fs'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import type { Logger } from '../lib/env.js'
import { binary } from './db.js'
import { LevelStorage } from './level.js'

/** A storage in a new, empty memory-level database (lost when the process exits). */
export function memoryStorage (opts: { readonly log?: Logger } = {}): LevelStorage {
  return new LevelStorage({ db: new MemoryLevel<Buffer, Buffer>(binary), ...opts })
}

/**
 * A storage in a classic-level (LevelDB) database in directory `dir`, created (with its
 * parents) if missing. `sync` defaults to true: each batch is fsynced before writes resolve.
 */
export function diskStorage (dir: string, opts: { readonly sync?: boolean, readonly log?: Logger } = {}): LevelStorage {
  mkdirSync(dir, { recursive: true })
  return new LevelStorage({ db: new ClassicLevel<Buffer, Buffer>(dir, binary), ...opts })
}
