/**
 * zkpeer's public API: everything users import from the package root.
 */
export { Codes, ZkError, type ErrorCode } from './errors.js'
export { CreateMode, Perms, Ids, type ACL, type Id, type Stat, type WatchEvent, type WatchEventType, type CreateModeValue } from './tree/types.js'
