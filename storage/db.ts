/**
 * The database type the storage accepts and the binary batch operations it issues.
 *
 * Owns: the narrow, structural view of abstract-level that `level.ts` and `recover.ts` use.
 * abstract-level's own class type is invariant in its encodings, so `AbstractLevel<…>` with
 * fixed type arguments would refuse databases created with other default encodings. Every call
 * here passes binary encodings explicitly, so any abstract-level v3 database (memory-level,
 * classic-level, …) fits, whatever its defaults.
 */
import type { AbstractBatchOptions, AbstractGetOptions, AbstractIteratorOptions } from 'abstract-level'

/** One operation of an atomic batch, with binary key and value. */
export type BatchOp =
  | { readonly type: 'put', readonly key: Buffer, readonly value: Buffer }
  | { readonly type: 'del', readonly key: Buffer }

/** A range iterator over binary records, as abstract-level's `iterator()` returns. */
export interface BinaryIterator {
  nextv (size: number): Promise<Array<[Buffer, Buffer]>>
  close (): Promise<void>
}

/** The part of an abstract-level v3 database the storage uses, called with binary encodings. */
export interface BinaryLevel {
  open (): Promise<void>
  close (): Promise<void>
  get (key: Buffer, options: AbstractGetOptions<Buffer, Buffer>): Promise<Buffer | undefined>
  batch (operations: BatchOp[], options: AbstractBatchOptions<Buffer, Buffer>): Promise<void>
  iterator (options: AbstractIteratorOptions<Buffer, Buffer>): BinaryIterator
}

/** Per-call encodings: the storage reads and writes raw bytes, never the db's defaults. */
export const binary = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const
