/**
 * The transactions the tree applies and what applying one returns. A txn is built by the
 * leader and replicated; every replica applies it with the same context and reaches the same
 * verdict, so failures are values, not exceptions.
 */

import type { OpErrorResult, ZkError } from '../errors.js'
import type { Id, OpResult, TreeChange, WriteOp } from './types.js'

/**
 * One replicated change to the tree:
 * - `op`: a single write;
 * - `multi`: writes applied atomically, in order, against the tentative state of earlier ops;
 * - `closeSession`: delete every ephemeral owned by `sessionId`;
 * - `reap`: delete an empty container or expired TTL node (ZooKeeper's deleteContainer).
 */
export type TreeTxn =
  | { readonly kind: 'op', readonly op: WriteOp }
  | { readonly kind: 'multi', readonly ops: readonly WriteOp[] }
  | { readonly kind: 'closeSession', readonly sessionId: bigint }
  | { readonly kind: 'reap', readonly path: string }

/**
 * What the leader fixed for a txn: its zxid (log index) and time (leader's clock, epoch ms), the
 * session that issued it (owner of ephemerals it creates; 0n for system txns) and the ids that
 * session had proved (for ACL checks and `auth` ACL expansion).
 */
export interface ApplyContext {
  readonly zxid: number
  readonly timeMs: number
  readonly sessionId: bigint
  readonly authIds: readonly Id[]
}

/**
 * The outcome of applying a txn. On success, one result per op (none for closeSession, one
 * delete for reap) and the raw changes for the watch registry, in op order. On failure nothing
 * changed, and for a multi `results` holds OK (rc 0) before the failing op, its code at it and
 * RUNTIMEINCONSISTENCY after (also set on `error.results`).
 */
export type ApplyResult =
  | { readonly ok: true, readonly results: OpResult[], readonly changes: TreeChange[] }
  | { readonly ok: false, readonly error: ZkError, readonly results?: Array<OpResult | OpErrorResult> }
