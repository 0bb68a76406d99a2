/**
 * The public data-model types of zkpeer (API.md: Stat, Node types, ACL, multi results) and the
 * transaction shapes the tree applies. Shared by the tree, the peer and the public Session.
 */

/** ZooKeeper's create modes, with ZooKeeper's numeric values. */
export const CreateMode = {
  PERSISTENT: 0,
  EPHEMERAL: 1,
  PERSISTENT_SEQUENTIAL: 2,
  EPHEMERAL_SEQUENTIAL: 3,
  CONTAINER: 4,
  PERSISTENT_WITH_TTL: 5,
  PERSISTENT_SEQUENTIAL_WITH_TTL: 6,
} as const
/** One of {@link CreateMode}'s values. */
export type CreateModeValue = typeof CreateMode[keyof typeof CreateMode]

/** ZooKeeper's permission bits. */
export const Perms = {
  READ: 1, WRITE: 2, CREATE: 4, DELETE: 8, ADMIN: 16, ALL: 31,
} as const

/** An ACL identity: a scheme (`world`, `auth`, `digest`, `ip`, `super`) and its id text. */
export interface Id {
  readonly scheme: string
  readonly id: string
}

/** One ACL entry: permission bits granted to an identity. */
export interface ACL {
  readonly perms: number
  readonly id: Id
}

/** ZooKeeper's well-known ACL lists. */
export const Ids = {
  ANYONE_ID_UNSAFE: { scheme: 'world', id: 'anyone' } as Id,
  AUTH_IDS: { scheme: 'auth', id: '' } as Id,
  OPEN_ACL_UNSAFE: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }] as readonly ACL[],
  CREATOR_ALL_ACL: [{ perms: 31, id: { scheme: 'auth', id: '' } }] as readonly ACL[],
  READ_ACL_UNSAFE: [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }] as readonly ACL[],
} as const

/**
 * A znode's metadata, with ZooKeeper's fields and meanings. zxids are log indexes; times are
 * epoch ms fixed by the leader; `ephemeralOwner` is the owning session id (0n if not ephemeral).
 */
export interface Stat {
  readonly czxid: number
  readonly mzxid: number
  readonly pzxid: number
  readonly ctime: number
  readonly mtime: number
  readonly version: number
  readonly cversion: number
  readonly aversion: number
  readonly ephemeralOwner: bigint
  readonly dataLength: number
  readonly numChildren: number
}

/** The kinds of watch event a session can receive. */
export type WatchEventType = 'NodeCreated' | 'NodeDeleted' | 'NodeDataChanged' | 'NodeChildrenChanged'

/** A watch notification: what happened, to which path. `zxid` is the triggering transaction's. */
export interface WatchEvent {
  readonly type: WatchEventType
  readonly path: string
  readonly zxid?: number
}

/**
 * A change the tree made that watches may care about, as the tree reports it from `apply`.
 * `acl` is the ACL that gates delivery (ZooKeeper 3.9, CVE-2024-23944): the node's own for
 * created/deleted/changed, the parent's for children-changed. The watch registry decides which
 * watches fire (one-shot data/child/exist, persistent, recursive).
 */
export interface TreeChange {
  readonly type: WatchEventType
  readonly path: string
  readonly acl: readonly ACL[]
}

/** One write inside a transaction (also the shapes of `multi`'s ops once validated). */
export type WriteOp =
  | { readonly op: 'create', readonly path: string, readonly data: Uint8Array, readonly acl: readonly ACL[], readonly mode: CreateModeValue, readonly ttlMs?: number }
  | { readonly op: 'delete', readonly path: string, readonly version: number }
  | { readonly op: 'setData', readonly path: string, readonly data: Uint8Array, readonly version: number }
  | { readonly op: 'setACL', readonly path: string, readonly acl: readonly ACL[], readonly version: number }
  | { readonly op: 'check', readonly path: string, readonly version: number }

/** The result of one successful write op. */
export type OpResult =
  | { readonly type: 'create', readonly path: string, readonly stat: Stat }
  | { readonly type: 'delete' }
  | { readonly type: 'setData', readonly stat: Stat }
  | { readonly type: 'setACL', readonly stat: Stat }
  | { readonly type: 'check' }
