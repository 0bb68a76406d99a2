/**
 * Builders for the operations of `Session.multi` (API.md: `Op.create`, `Op.setData`,
 * `Op.delete`, `Op.check`). They only record the arguments; the session validates them all
 * before anything is proposed.
 */
import type { ACL, CreateModeValue } from './tree/types.js'

/** Data a caller may pass: bytes, or a string (UTF-8). */
export type Data = Buffer | Uint8Array | string

/** Options of a create. */
export interface CreateOptions {
  readonly mode?: CreateModeValue
  readonly acl?: readonly ACL[]
  readonly ttlMs?: number
}

/** One operation of a multi, as the caller describes it. */
export type MultiOp =
  | { readonly op: 'create', readonly path: string, readonly data?: Data, readonly options?: CreateOptions }
  | { readonly op: 'setData', readonly path: string, readonly data: Data, readonly version: number }
  | { readonly op: 'delete', readonly path: string, readonly version: number }
  | { readonly op: 'check', readonly path: string, readonly version: number }

/** The op builders for `multi`. */
export const Op = {
  /** Creates `path` (see `Session.create`). */
  create: (path: string, data?: Data, options?: CreateOptions): MultiOp => ({ op: 'create', path, data, options }),
  /** Sets `path`'s data if its version is `version` (-1: any). */
  setData: (path: string, data: Data, version = -1): MultiOp => ({ op: 'setData', path, data, version }),
  /** Deletes `path` if its version is `version` (-1: any). */
  delete: (path: string, version = -1): MultiOp => ({ op: 'delete', path, version }),
  /** Passes if `path` exists and its version is `version` (-1: any version). */
  check: (path: string, version: number): MultiOp => ({ op: 'check', path, version }),
} as const
