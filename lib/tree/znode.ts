/**
 * One znode's state as the tree stores it, and the Stat clients see (ZK-SEMANTICS §1).
 *
 * Memory matters more than elegance here (a target of ≤ 300 bytes of heap per znode beyond its
 * name and data), so a znode is one object with a fixed set of fields and no per-node closures
 * or arrays: data is kept as a latin1 string (one heap object, immutable, byte-exact), the ACL
 * is a shared interned array, and children are a Set of the children's full paths (the same
 * string objects that key the tree's map, so a child costs no extra string), null when there
 * are none. Stat fields that clients see derived (cversion, numChildren, dataLength,
 * ephemeralOwner) are computed on read.
 */

import type { ACL, Stat } from './types.js'

/** What kind of node this is; decides ephemeralOwner, reaping and NOCHILDRENFOREPHEMERALS. */
export const NodeKind = { PERSISTENT: 0, EPHEMERAL: 1, CONTAINER: 2, TTL: 3 } as const
/** One of {@link NodeKind}'s values. */
export type NodeKindValue = typeof NodeKind[keyof typeof NodeKind]

/**
 * A znode. Fields are public so the tree and the snapshot codec can read and write them without
 * accessor overhead; nothing outside lib/tree may hold one.
 */
export class ZNode {
  /** Full paths of the children, or null when there are none (most nodes: saves a Set each). */
  children: Set<string> | null = null

  constructor (
    /** The data, one char per byte (latin1), so it is immutable and byte-exact. */
    public data: string,
    /** Interned, shared with every node that has an equal ACL; never mutated. */
    public acl: readonly ACL[],
    public czxid: number,
    public mzxid: number,
    /** zxid of the last child create/delete, else czxid. */
    public pzxid: number,
    public ctime: number,
    public mtime: number,
    public version: number,
    public aversion: number,
    /** C: children ever created under this node; drives cversion and the sequential suffix. */
    public creates: number,
    public kind: NodeKindValue,
    /** The TTL of a TTL node, else 0. */
    public ttlMs: number,
    /** The owning session of an ephemeral, else 0n. */
    public owner: bigint,
  ) {}

  /** Number of children now. */
  get numChildren (): number {
    return this.children === null ? 0 : this.children.size
  }

  /**
   * The Stat clients see: cversion is 2·C − numChildren (creates plus deletes), wrapped to 32
   * bits as ZooKeeper's int arithmetic would; ephemeralOwner is non-zero only for plain
   * ephemerals (containers and TTL nodes report 0, §1).
   */
  stat (): Stat {
    const numChildren = this.numChildren
    return {
      czxid: this.czxid,
      mzxid: this.mzxid,
      pzxid: this.pzxid,
      ctime: this.ctime,
      mtime: this.mtime,
      version: this.version,
      cversion: (2 * this.creates - numChildren) | 0,
      aversion: this.aversion,
      ephemeralOwner: this.kind === NodeKind.EPHEMERAL ? this.owner : 0n,
      dataLength: this.data.length,
      numChildren,
    }
  }
}
