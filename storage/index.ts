/**
 * zkpeer's storage entry point (`zkpeer/storage`): the `Storage` interface and its one
 * implementation over abstract-level, with helpers for memory-level and classic-level.
 */
export type { RecoveredState, Storage, StorageWrite } from './storage.js'
export type { BinaryLevel } from './db.js'
export { LevelStorage, memoryStorage, diskStorage, type LevelStorageOptions } from './level.js'
export { VolatileStorage } from './volatile.js'
export { StorageCorruptError, type CorruptRecord } from './errors.js'
