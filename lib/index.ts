/**
 * zkpeer's public API: everything users import from the package root.
 */
export { Peer, type PeerOptions, type PeerRole, type PeerStatus, type ConnectOptions } from './peer.js'
export { Session, type SessionState, type WatchOptions, type PersistentWatchOptions } from './session/session.js'
export { Op, type MultiOp, type CreateOptions, type Data } from './op.js'
export { Codes, ZkError, codeOf, type ErrorCode, type OpErrorResult } from './errors.js'
export {
  CreateMode, Perms, Ids,
  type ACL, type Id, type Stat, type WatchEvent, type WatchEventType, type CreateModeValue, type OpResult,
} from './tree/types.js'
export type { WatchListener } from './watch/watch-registry.js'
export type { Logger, Env } from './env.js'
export * from './recipes/index.js'
