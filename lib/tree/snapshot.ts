/**
 * The tree's snapshot format: a hand-rolled little-endian binary layout, chosen over a generic
 * encoder because a million-znode tree must round-trip in well under 3 s and one pass with a
 * DataView is several times faster than building and encoding an object graph.
 *
 *   header   "ZKT1" · u32 aclCount · acl* · u32 nodeCount · node*
 *   acl      u32 entries · (i32 perms · str scheme · str id)*
 *   node     str path · u32 aclIndex · u8 kind · f64 czxid mzxid pzxid ctime mtime ·
 *            i32 version aversion creates · [f64 ttlMs if TTL] · [i64 owner if ephemeral] ·
 *            u32 dataLength · data bytes
 *   str      u32 byteLength · UTF-8 bytes
 *
 * Nodes are written in map order, which always puts a parent before its children (a parent
 * must exist when a child is created, and undo re-inserts in reverse). Children sets are not
 * stored; decoding rebuilds them from the paths. Owns nothing beyond these two functions.
 */

import { assert } from '../assert.js'
import type { ACL } from './types.js'
import { NodeKind, ZNode, type NodeKindValue } from './znode.js'

const MAGIC_BYTES = Buffer.from('ZKT1', 'latin1')
const FIXED_NODE_BYTES = 4 + 4 + 1 + 5 * 8 + 3 * 4 + 8 + 8 + 4

/** Encodes every node of `nodes` (path → node) into one byte array. */
export function encodeTree (nodes: ReadonlyMap<string, ZNode>): Uint8Array {
  const aclIndex = new Map<readonly ACL[], number>()
  const acls: Array<readonly ACL[]> = []
  let bound = 4 + 4 + 4
  for (const [path, node] of nodes) {
    if (!aclIndex.has(node.acl)) {
      aclIndex.set(node.acl, acls.length)
      acls.push(node.acl)
      bound += 4
      for (const a of node.acl) bound += 4 + 8 + 3 * (a.id.scheme.length + a.id.id.length)
    }
    bound += FIXED_NODE_BYTES + 3 * path.length + node.data.length
  }
  const buf = Buffer.allocUnsafe(bound)
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  let pos = MAGIC_BYTES.copy(buf, 0)
  const str = (s: string): void => {
    // Short ASCII strings (nearly every path) are copied inline: cheaper than a call into
    // Buffer.write per node. Anything else goes through the UTF-8 encoder.
    let n = s.length
    if (n <= 64) {
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) { n = -1; break }
        buf[pos + 4 + i] = c
      }
    } else n = -1
    if (n < 0) n = buf.write(s, pos + 4, 'utf8')
    view.setUint32(pos, n, true)
    pos += 4 + n
  }
  view.setUint32(pos, acls.length, true); pos += 4
  for (const acl of acls) {
    view.setUint32(pos, acl.length, true); pos += 4
    for (const a of acl) {
      view.setInt32(pos, a.perms, true); pos += 4
      str(a.id.scheme)
      str(a.id.id)
    }
  }
  view.setUint32(pos, nodes.size, true); pos += 4
  for (const [path, node] of nodes) {
    str(path)
    view.setUint32(pos, aclIndex.get(node.acl)!, true)
    view.setUint8(pos + 4, node.kind)
    view.setFloat64(pos + 5, node.czxid, true)
    view.setFloat64(pos + 13, node.mzxid, true)
    view.setFloat64(pos + 21, node.pzxid, true)
    view.setFloat64(pos + 29, node.ctime, true)
    view.setFloat64(pos + 37, node.mtime, true)
    view.setInt32(pos + 45, node.version, true)
    view.setInt32(pos + 49, node.aversion, true)
    view.setInt32(pos + 53, node.creates, true)
    pos += 57
    if (node.kind === NodeKind.TTL) { view.setFloat64(pos, node.ttlMs, true); pos += 8 }
    if (node.kind === NodeKind.EPHEMERAL) { view.setBigInt64(pos, node.owner, true); pos += 8 }
    const n = node.data.length
    view.setUint32(pos, n, true)
    if (n > 128) buf.write(node.data, pos + 4, n, 'latin1')
    else for (let i = 0; i < n; i++) buf[pos + 4 + i] = node.data.charCodeAt(i)
    pos += 4 + n
  }
  assert(pos <= bound, 'snapshot size bound holds')
  return buf.subarray(0, pos)
}

/** Decodes {@link encodeTree}'s bytes into path → node, children sets rebuilt. Throws on corrupt input. */
export function decodeTree (bytes: Uint8Array): Map<string, ZNode> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  assert(buf.length >= 12 && buf.subarray(0, 4).equals(MAGIC_BYTES), 'snapshot starts with ZKT1')
  let pos = 4
  const need = (n: number): void => assert(pos + n <= buf.length, 'snapshot is truncated')
  const u32 = (): number => { need(4); const v = view.getUint32(pos, true); pos += 4; return v }
  const str = (): string => {
    const n = u32()
    need(n)
    const s = buf.toString('utf8', pos, pos + n)
    pos += n
    return s
  }
  const acls: Array<readonly ACL[]> = []
  for (let i = u32(); i > 0; i--) {
    const acl: ACL[] = []
    for (let j = u32(); j > 0; j--) {
      need(4)
      const perms = view.getInt32(pos, true); pos += 4
      const scheme = str()
      acl.push({ perms, id: { scheme, id: str() } })
    }
    acls.push(acl)
  }
  const nodes = new Map<string, ZNode>()
  const count = u32()
  for (let i = 0; i < count; i++) {
    const path = str()
    need(57)
    const acl = acls[view.getUint32(pos, true)]
    assert(acl !== undefined, 'node ACL index is in range')
    const kind = view.getUint8(pos + 4) as NodeKindValue
    assert(kind <= NodeKind.TTL, 'node kind is known')
    const czxid = view.getFloat64(pos + 5, true)
    const mzxid = view.getFloat64(pos + 13, true)
    const pzxid = view.getFloat64(pos + 21, true)
    const ctime = view.getFloat64(pos + 29, true)
    const mtime = view.getFloat64(pos + 37, true)
    const version = view.getInt32(pos + 45, true)
    const aversion = view.getInt32(pos + 49, true)
    const creates = view.getInt32(pos + 53, true)
    pos += 57
    let ttlMs = 0
    let owner = 0n
    if (kind === NodeKind.TTL) { need(8); ttlMs = view.getFloat64(pos, true); pos += 8 }
    if (kind === NodeKind.EPHEMERAL) { need(8); owner = view.getBigInt64(pos, true); pos += 8 }
    const n = u32()
    need(n)
    const data = n === 0 ? '' : buf.toString('latin1', pos, pos + n)
    pos += n
    nodes.set(path, new ZNode(data, acl, czxid, mzxid, pzxid, ctime, mtime, version, aversion, creates, kind, ttlMs, owner))
  }
  assert(pos === buf.length, 'snapshot has no trailing bytes')
  // Rebuild children. Siblings are usually adjacent in map order, so remember the last parent
  // rather than slicing out every node's parent path.
  let lastParentPath = ''
  let lastParent: ZNode | undefined
  for (const path of nodes.keys()) {
    if (path === '/') continue
    const cut = path.lastIndexOf('/')
    if (lastParent === undefined || cut !== (lastParentPath === '/' ? 0 : lastParentPath.length) || !path.startsWith(lastParentPath)) {
      lastParentPath = cut === 0 ? '/' : path.slice(0, cut)
      lastParent = nodes.get(lastParentPath)
      assert(lastParent !== undefined, `snapshot holds the parent of ${path}`)
    }
    ;(lastParent.children ??= new Set()).add(path)
  }
  return nodes
}
