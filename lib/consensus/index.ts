/**
 * The consensus core's public surface: the core, its config and status, the messages it
 * exchanges and the host-facing data types.
 */
export { RaftCore, type RaftCoreConfig, type CoreStatus, type PeerProgress } from './core.js'
export type * from './messages.js'
export { isLeaderMessage } from './messages.js'
export type { ProgressState } from './progress.js'
export type * from './types.js'
