/**
 * The storage's own error: stored state that fails its checksum in a place where dropping it
 * would be unsafe (hard state, snapshot, or a log entry read back after recovery).
 */

/** What kind of record failed to verify. */
export type CorruptRecord = 'hardState' | 'snapshot' | 'entry'

/**
 * Thrown (rejected) when durable state the peer cannot safely do without fails verification.
 * `code` is stable ('STORAGE_CORRUPT'); branch on it and on `record`, not on the message.
 * Recovery is an operator's job: restore the peer's directory, or wipe it so the peer rejoins
 * empty and is caught up by the leader.
 */
export class StorageCorruptError extends Error {
  override readonly name = 'StorageCorruptError'
  readonly code = 'STORAGE_CORRUPT'

  constructor (readonly record: CorruptRecord, detail: string) {
    super(`${record}: ${detail}`)
  }
}
