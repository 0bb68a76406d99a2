/**
 * The IPC protocol between a test (or benchmark) and a peer child process: requests with ids,
 * replies, and unsolicited events. Carried with Node's 'advanced' serialization, so Buffers and
 * bigints cross as they are.
 */
import type { GenRequest } from './loadgen.js'

/** Options a child passes to `Peer.start` (plain data only). */
export interface ChildPeerOptions {
  readonly id: string
  readonly listen: string
  readonly ensemble: Readonly<Record<string, string>>
  readonly dataDir?: string
  readonly sync?: boolean
  readonly secret?: string
  readonly tickMs?: number
  readonly electionTicks?: number
  readonly sessionTimeoutMs?: number
  readonly minSessionTimeoutMs?: number
  readonly snapshotEntries?: number
  /** A ZooKeeper client port (`tcp://127.0.0.1:port`). */
  readonly zkListen?: string
}

/** A request to the child. */
export type ChildRequest =
  | { readonly id: number, readonly cmd: 'recipe', readonly session: number, readonly action: RecipeAction }
  | { readonly id: number, readonly cmd: 'start', readonly options: ChildPeerOptions }
  | { readonly id: number, readonly cmd: 'ready' }
  | { readonly id: number, readonly cmd: 'connect', readonly sessionTimeoutMs?: number }
  | { readonly id: number, readonly cmd: 'call', readonly session: number, readonly method: string, readonly args: readonly unknown[] }
  | { readonly id: number, readonly cmd: 'watch', readonly session: number, readonly path: string, readonly recursive: boolean }
  | { readonly id: number, readonly cmd: 'status' }
  | { readonly id: number, readonly cmd: 'startLoad', readonly session: number, readonly prefix: string, readonly inFlight: number, readonly bytes: number }
  | { readonly id: number, readonly cmd: 'stopLoad' }
  | { readonly id: number, readonly cmd: 'stop' }
  /** A load-generator request, run on session 1 (see loadgen.ts). */
  | { readonly id: number, readonly cmd: 'gen', readonly op: GenRequest }
  /** process.memoryUsage() after two full GCs when the child runs with --expose-gc. */
  | { readonly id: number, readonly cmd: 'memory' }
  /** Starts, or stops and writes to `file` (.cpuprofile), V8's CPU profiler in the child. */
  | { readonly id: number, readonly cmd: 'profile', readonly action: 'start' | 'stop', readonly file?: string }

/** The reply to a request. */
export type ChildReply =
  | { readonly id: number, readonly ok: true, readonly result: unknown }
  | { readonly id: number, readonly ok: false, readonly code: string, readonly message: string }

/** Something that happened in the child, unasked. */
export type ChildEvent =
  | { readonly event: 'role', readonly role: string, readonly term: number }
  | { readonly event: 'leader', readonly leader: string | undefined }
  | { readonly event: 'watch', readonly session: number, readonly type: string, readonly path: string }
  | { readonly event: 'session-state', readonly session: number, readonly state: string }
  | { readonly event: 'recipe', readonly kind: string, readonly detail: unknown }

/** A recipe run inside a child, for the cross-process recipe tests (see recipes.ts). */
export type RecipeAction =
  /** `rounds` times: take the lock, read-modify-write a counter znode, check the token grew. */
  | { readonly kind: 'lock-increment', readonly path: string, readonly counter: string, readonly rounds: number }
  /** Take the lock and hold it until the process ends; resolves with the token once held. */
  | { readonly kind: 'lock-hold', readonly path: string, readonly timeoutMs: number }
  /** Stand for election; 'elected' events are reported. */
  | { readonly kind: 'elect', readonly path: string, readonly id: string }
  /** Follow a Config; every change is reported as a 'config' event. */
  | { readonly kind: 'config-watch', readonly path: string }
  | { readonly kind: 'config-set', readonly path: string, readonly key: string, readonly value: string }
  | { readonly kind: 'queue-put', readonly path: string, readonly items: readonly string[] }
  /** Take items until the queue stays empty for `idleMs`; resolves with what was taken. */
  | { readonly kind: 'queue-drain', readonly path: string, readonly idleMs: number }

/** What a stopped write load reports. */
export interface LoadReport {
  /** Paths whose create was acknowledged (resolved). */
  readonly acked: readonly string[]
  /** Failures by code (outcome unknown or definite). */
  readonly errors: Readonly<Record<string, number>>
}
