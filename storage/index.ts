/**
 * zkpeer's storage entry point (`zkpeer/storage`): the `Storage` interface; `FileStorage`, a
 * write-ahead log in plain files (what `dataDir` uses); `LevelStorage` over abstract-level, with
 * helpers for memory-level and classic-level; and `VolatileStorage` in plain memory.
 */
export type { RecoveredState, SnapshotSource, Storage, StorageWrite } from './storage.js'
export type { BinaryLevel } from './db.js'
export { LevelStorage, type LevelStorageOptions } from './level.js'
export { memoryStorage, diskStorage } from './level-backends.js'
export { VolatileStorage } from './volatile.js'
export { FileStorage, type FileStorageOptions } from './file-storage.js'
export { StorageCorruptError, type CorruptRecord } from './errors.js'
