/**
 * Shared helpers for the tree tests: a tree driver that stamps zxid/time, shorthand op
 * builders, and stat assertions.
 */

import { DataTree } from '../../lib/tree/data-tree.js'
import type { ApplyResult, TreeTxn } from '../../lib/tree/txn.js'
import { CreateMode, Ids, type ACL, type CreateModeValue, type Id, type WriteOp } from '../../lib/tree/types.js'

export const T0 = 1_700_000_000_000

/** A tree plus a zxid counter; every apply gets the next zxid and time T0 + zxid. */
export class Driver {
  zxid = 0
  constructor (readonly tree = new DataTree()) {}

  apply (txn: TreeTxn, opts: { sessionId?: bigint, authIds?: readonly Id[], timeMs?: number } = {}): ApplyResult {
    this.zxid++
    return this.tree.apply(txn, { zxid: this.zxid, timeMs: opts.timeMs ?? T0 + this.zxid, sessionId: opts.sessionId ?? 1n, authIds: opts.authIds ?? [] })
  }

  op (op: WriteOp, opts?: { sessionId?: bigint, authIds?: readonly Id[], timeMs?: number }): ApplyResult {
    return this.apply({ kind: 'op', op }, opts)
  }

  /** Applies and throws if it failed; returns the first result's path for creates. */
  ok (op: WriteOp, opts?: { sessionId?: bigint, authIds?: readonly Id[], timeMs?: number }): string {
    const r = this.op(op, opts)
    if (!r.ok) throw r.error
    const first = r.results[0]!
    return first.type === 'create' ? first.path : ''
  }

  /** Error code of applying `op`, or 'OK'. */
  code (op: WriteOp, opts?: { sessionId?: bigint, authIds?: readonly Id[], timeMs?: number }): string {
    const r = this.op(op, opts)
    return r.ok ? 'OK' : r.error.code
  }
}

export function create (path: string, opts: { data?: string, mode?: CreateModeValue, acl?: readonly ACL[], ttlMs?: number } = {}): WriteOp {
  const op = { op: 'create' as const, path, data: Buffer.from(opts.data ?? ''), acl: opts.acl ?? Ids.OPEN_ACL_UNSAFE, mode: opts.mode ?? CreateMode.PERSISTENT }
  return opts.ttlMs === undefined ? op : { ...op, ttlMs: opts.ttlMs }
}
export const del = (path: string, version = -1): WriteOp => ({ op: 'delete', path, version })
export const setData = (path: string, data: string, version = -1): WriteOp => ({ op: 'setData', path, data: Buffer.from(data), version })
export const setACL = (path: string, acl: readonly ACL[], version = -1): WriteOp => ({ op: 'setACL', path, acl, version })
export const check = (path: string, version: number): WriteOp => ({ op: 'check', path, version })

/** A stat with bigint owner rendered as a string, for tap's deep equality and readable diffs. */
export function plainStat (s: import('../../lib/tree/types.js').Stat): Record<string, number | string> {
  return { ...s, ephemeralOwner: s.ephemeralOwner.toString() }
}
