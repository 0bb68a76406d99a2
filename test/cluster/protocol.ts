/**
 * The IPC protocol between a test (or benchmark) and a peer child process: requests with ids,
 * replies, and unsolicited events. Carried with Node's 'advanced' serialization, so Buffers and
 * bigints cross as they are.
 */

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
}

/** A request to the child. */
export type ChildRequest =
  | { readonly id: number, readonly cmd: 'start', readonly options: ChildPeerOptions }
  | { readonly id: number, readonly cmd: 'ready' }
  | { readonly id: number, readonly cmd: 'connect', readonly sessionTimeoutMs?: number }
  | { readonly id: number, readonly cmd: 'call', readonly session: number, readonly method: string, readonly args: readonly unknown[] }
  | { readonly id: number, readonly cmd: 'watch', readonly session: number, readonly path: string, readonly recursive: boolean }
  | { readonly id: number, readonly cmd: 'status' }
  | { readonly id: number, readonly cmd: 'startLoad', readonly session: number, readonly prefix: string, readonly inFlight: number, readonly bytes: number }
  | { readonly id: number, readonly cmd: 'stopLoad' }
  | { readonly id: number, readonly cmd: 'bench', readonly session: number, readonly kind: 'write' | 'create-seq' | 'read' | 'sync-read', readonly path: string, readonly ops: number, readonly inFlight: number, readonly bytes: number }
  | { readonly id: number, readonly cmd: 'stop' }

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

/** What a stopped write load reports. */
export interface LoadReport {
  /** Paths whose create was acknowledged (resolved). */
  readonly acked: readonly string[]
  /** Failures by code (outcome unknown or definite). */
  readonly errors: Readonly<Record<string, number>>
}

/** What a bench run reports: count, duration and latency percentiles (ms). */
export interface BenchReport {
  readonly ops: number
  readonly seconds: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly p999Ms: number
  readonly errors: number
}
