/**
 * The numbers of ZooKeeper's client protocol: request opcodes (`ZooDefs.OpCode`), the reserved
 * xids of replies that answer no numbered request, watch event types and client states
 * (`Watcher.Event`), and the modes of addWatch / removeWatches. Values only; no behaviour.
 * They must match ZooKeeper 3.9 exactly, because a real client decides what a reply means
 * from them.
 */

/** Request types, as ZooKeeper numbers them in `RequestHeader.type`. */
export const OpCode = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  reconfig: 16,
  checkWatches: 17,
  removeWatches: 18,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  multiRead: 22,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches2: 105,
  addWatch: 106,
  whoAmI: 107,
  createSession: -10,
  closeSession: -11,
  error: -1,
} as const

/** Xids a server uses for packets that are not replies to a numbered request. */
export const Xid = {
  /** A watch notification (WatcherEvent body). */
  notification: -1,
  /** A ping and its reply. */
  ping: -2,
  /** An auth packet and its reply. */
  auth: -4,
  /** The client's setWatches after a reconnect (Java and node clients both use −8). */
  setWatches: -8,
} as const

/** `Watcher.Event.EventType` values carried in a WatcherEvent. */
export const EventType = {
  None: -1,
  NodeCreated: 1,
  NodeDeleted: 2,
  NodeDataChanged: 3,
  NodeChildrenChanged: 4,
  DataWatchRemoved: 5,
  ChildWatchRemoved: 6,
  PersistentWatchRemoved: 7,
} as const

/** `Watcher.Event.KeeperState` values; a served connection's notifications say SyncConnected. */
export const KeeperState = {
  Disconnected: 0,
  SyncConnected: 3,
  AuthFailed: 4,
  ConnectedReadOnly: 5,
  SaslAuthenticated: 6,
  Expired: -112,
  Closed: 7,
} as const

/** `AddWatchMode`: the `mode` of an addWatch request. */
export const AddWatchMode = {
  PERSISTENT: 0,
  PERSISTENT_RECURSIVE: 1,
} as const

/** `Watcher.WatcherType`: the `type` of removeWatches / checkWatches. */
export const WatcherType = {
  Children: 1,
  Data: 2,
  Any: 3,
  Persistent: 4,
  PersistentRecursive: 5,
} as const

const opNames = new Map<number, string>(Object.entries(OpCode).map(([name, code]) => [code, name]))

/** The opcode's name for logs and `cons`, or `op<n>` when it is not one ZooKeeper defines. */
export function opName (code: number): string {
  return opNames.get(code) ?? `op${code}`
}
