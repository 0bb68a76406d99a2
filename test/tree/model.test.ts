/**
 * Goal: DataTree agrees with a small, independent model of ZooKeeper's semantics on every
 * result, error code and stat, for random sequences of create (4 modes, 2 ACLs, 2 sessions),
 * delete, setData, check, multi and closeSession.
 * Method: fast-check generates command lists; each command is applied to both, results are
 * compared, and after each command every modelled node's stat is compared with the tree's.
 * The model is written as plainly as possible (maps, scans, a cloned map for multi).
 */

import { deepStrictEqual } from 'node:assert'
import fc from 'fast-check'
import t from 'tap'
import { DataTree } from '../../lib/tree/data-tree.js'
import { CreateMode, Ids, type OpResult, type Stat, type WriteOp } from '../../lib/tree/types.js'

interface MNode {
  data: string, czxid: number, mzxid: number, pzxid: number, ctime: number, mtime: number
  version: number, aversion: number, creates: number, owner: bigint, readOnly: boolean
}
type Model = Map<string, MNode>

const parentPath = (p: string): string => p.slice(0, p.lastIndexOf('/')) || '/'
const childrenOf = (m: Model, p: string): string[] => [...m.keys()].filter((k) => k !== '/' && parentPath(k) === p)

function modelStat (m: Model, p: string): Stat {
  const n = m.get(p)!
  const numChildren = childrenOf(m, p).length + (p === '/' ? 1 : 0) // the root also holds /zookeeper
  return {
    czxid: n.czxid, mzxid: n.mzxid, pzxid: n.pzxid, ctime: n.ctime, mtime: n.mtime, version: n.version,
    cversion: 2 * n.creates - numChildren, aversion: n.aversion, ephemeralOwner: n.owner, dataLength: n.data.length, numChildren,
  }
}

type Outcome = { ok: true, results: OpResult[] } | { ok: false, codes: string[] }

/** Applies one op to the model in place; returns its result or an error code. */
function modelOp (m: Model, op: WriteOp, zxid: number, time: number, session: bigint): OpResult | string {
  switch (op.op) {
    case 'create': {
      const seq = op.mode === CreateMode.PERSISTENT_SEQUENTIAL || op.mode === CreateMode.EPHEMERAL_SEQUENTIAL
      const pp = parentPath(op.path)
      const parent = m.get(pp)
      if (parent === undefined) return 'NONODE'
      if (parent.readOnly) return 'NOAUTH'
      const path = seq ? op.path + String(parent.creates).padStart(10, '0') : op.path
      if (m.has(path)) return 'NODEEXISTS'
      if (parent.owner !== 0n) return 'NOCHILDRENFOREPHEMERALS'
      const eph = op.mode === CreateMode.EPHEMERAL || op.mode === CreateMode.EPHEMERAL_SEQUENTIAL
      m.set(path, { data: Buffer.from(op.data).toString('latin1'), czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: time, mtime: time, version: 0, aversion: 0, creates: 0, owner: eph ? session : 0n, readOnly: op.acl === Ids.READ_ACL_UNSAFE })
      parent.creates++
      parent.pzxid = zxid
      return { type: 'create', path, stat: modelStat(m, path) }
    }
    case 'delete': {
      const parent = m.get(parentPath(op.path))
      if (parent === undefined) return 'NONODE'
      if (parent.readOnly) return 'NOAUTH'
      const n = m.get(op.path)
      if (n === undefined) return 'NONODE'
      if (op.version !== -1 && op.version !== n.version) return 'BADVERSION'
      if (childrenOf(m, op.path).length > 0) return 'NOTEMPTY'
      m.delete(op.path)
      parent.pzxid = zxid
      return { type: 'delete' }
    }
    case 'setData': {
      const n = m.get(op.path)
      if (n === undefined) return 'NONODE'
      if (n.readOnly) return 'NOAUTH'
      if (op.version !== -1 && op.version !== n.version) return 'BADVERSION'
      Object.assign(n, { data: Buffer.from(op.data).toString('latin1'), version: n.version + 1, mzxid: zxid, mtime: time })
      return { type: 'setData', stat: modelStat(m, op.path) }
    }
    case 'check': {
      const n = m.get(op.path)
      if (n === undefined) return 'NONODE'
      if (op.version !== -1 && op.version !== n.version) return 'BADVERSION'
      return { type: 'check' }
    }
    default: throw new Error('not modelled')
  }
}

function cloneModel (m: Model): Model {
  return new Map([...m].map(([k, v]) => [k, { ...v }]))
}

type Cmd = { kind: 'op', op: WriteOp, session: bigint } | { kind: 'multi', ops: WriteOp[], session: bigint } | { kind: 'close', session: bigint }

const pathArb = fc.constantFrom('/a', '/b', '/a/x', '/a/y', '/b/x', '/a/x/z', '/a/x-')
const versionArb = fc.constantFrom(-1, -1, 0, 1, 2)
const opArb: fc.Arbitrary<WriteOp> = fc.oneof(
  { arbitrary: fc.record({ path: pathArb, mode: fc.constantFrom(0, 0, 1, 2, 3) as fc.Arbitrary<0 | 1 | 2 | 3>, readOnly: fc.boolean(), data: fc.string({ maxLength: 4 }) })
    .map(({ path, mode, readOnly, data }): WriteOp => ({ op: 'create', path, mode, data: Buffer.from(data), acl: readOnly ? Ids.READ_ACL_UNSAFE : Ids.OPEN_ACL_UNSAFE })), weight: 4 },
  { arbitrary: fc.record({ path: pathArb, version: versionArb }).map(({ path, version }): WriteOp => ({ op: 'delete', path, version })), weight: 2 },
  { arbitrary: fc.record({ path: pathArb, version: versionArb, data: fc.string({ maxLength: 4 }) }).map(({ path, version, data }): WriteOp => ({ op: 'setData', path, version, data: Buffer.from(data) })), weight: 2 },
  { arbitrary: fc.record({ path: pathArb, version: versionArb }).map(({ path, version }): WriteOp => ({ op: 'check', path, version })), weight: 1 },
)
const sessionArb = fc.constantFrom(1n, 2n)
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { arbitrary: fc.record({ op: opArb, session: sessionArb }).map((c): Cmd => ({ kind: 'op', ...c })), weight: 6 },
  { arbitrary: fc.record({ ops: fc.array(opArb, { minLength: 1, maxLength: 4 }), session: sessionArb }).map((c): Cmd => ({ kind: 'multi', ...c })), weight: 2 },
  { arbitrary: sessionArb.map((session): Cmd => ({ kind: 'close', session })), weight: 1 },
)

const show = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (_, v: unknown) => typeof v === 'bigint' ? `${v}n` : v))

t.test('DataTree agrees with the model', async (t) => {
  fc.assert(fc.property(fc.array(cmdArb, { maxLength: 40 }), (cmds) => {
    const tree = new DataTree()
    let model: Model = new Map([['/', { data: '', czxid: 0, mzxid: 0, pzxid: 0, ctime: 0, mtime: 0, version: 0, aversion: 0, creates: 0, owner: 0n, readOnly: false }]])
    let zxid = 0
    for (const cmd of cmds) {
      zxid++
      const time = 1000 + zxid * 10
      let expected: Outcome
      if (cmd.kind === 'close') {
        for (const [p, n] of [...model].sort(([a], [b]) => a < b ? -1 : 1)) {
          if (n.owner === cmd.session) { model.delete(p); model.get(parentPath(p))!.pzxid = zxid }
        }
        expected = { ok: true, results: [] }
      } else {
        const ops = cmd.kind === 'op' ? [cmd.op] : cmd.ops
        const tentative = cloneModel(model)
        const results: OpResult[] = []
        let failedAt = -1
        let code = ''
        for (let i = 0; i < ops.length && failedAt < 0; i++) {
          const r = modelOp(tentative, ops[i]!, zxid, time, cmd.session)
          if (typeof r === 'string') { failedAt = i; code = r } else results.push(r)
        }
        if (failedAt < 0) {
          model = tentative
          expected = { ok: true, results }
        } else {
          expected = { ok: false, codes: cmd.kind === 'op' ? [code] : ops.map((_, i) => i < failedAt ? 'OK' : i === failedAt ? code : 'RUNTIMEINCONSISTENCY') }
        }
      }
      const txn = cmd.kind === 'close' ? { kind: 'closeSession' as const, sessionId: cmd.session } : cmd.kind === 'op' ? { kind: 'op' as const, op: cmd.op } : { kind: 'multi' as const, ops: cmd.ops }
      const r = tree.apply(txn, { zxid, timeMs: time, sessionId: cmd.session, authIds: [] })
      const actual: Outcome = r.ok
        ? { ok: true, results: r.results }
        : { ok: false, codes: r.results === undefined ? [r.error.code] : r.results.map((x) => x.type === 'error' ? x.code : 'OK') }
      deepStrictEqual(show(actual), show(expected), `zxid ${zxid}: ${JSON.stringify(show(cmd))}`)
      for (const p of model.keys()) deepStrictEqual(show(tree.exists(p, [])), show(modelStat(model, p)), `stat of ${p} at zxid ${zxid}`)
      deepStrictEqual(tree.nodeCount, model.size + 3, 'same node set')
    }
    tree.checkInvariants()
  }), { numRuns: 300 })
  t.pass('300 random histories agree')
})
