/**
 * The clients' recorded history and the checkers that judge it, treating the ensemble as a black
 * box (only what sessions returned, and when).
 *
 * - Writes (create, setData, delete) and reads after `sync` must be linearizable against a model
 *   of one znode per key (absent, or a value and a version): a Wing & Gong search with Lowe's
 *   memoization (WGL), per key. A write with an unknown outcome (CONNECTIONLOSS,
 *   OPERATIONTIMEOUT, or never answered because its peer crashed) may take effect at any point
 *   after it was invoked, or never.
 * - Each session's reads never go back in time: per key, the mzxid a session sees never
 *   decreases, and never falls below the mzxid of its own acknowledged setData.
 *
 * Order is the order of events in the simulated process (`seq`), finer than simulated
 * milliseconds, so "A responded before B was invoked" is exact.
 */

/** The operations clients issue. `syncget` is `sync()` then `getData()`, one operation. */
export type OpKind = 'create' | 'set' | 'delete' | 'get' | 'exists' | 'syncget'

/** What a read saw: the node's value and stat fields, or null when it did not exist. */
export interface ReadResult {
  readonly value: string
  readonly version: number
  readonly mzxid: number
  readonly czxid: number
}

/** One operation of one client: invocation, then response (absent: never answered). */
export interface OpRecord {
  readonly id: number
  readonly client: number
  /** The session (peer and id) that served it. */
  readonly session: string
  readonly kind: OpKind
  readonly key: string
  /** Data written by create/set (unique per write). */
  readonly value?: string
  /** Expected version of set/delete; -1 for any. */
  readonly version?: number
  readonly invokeSeq: number
  readonly invokeMs: number
  respSeq?: number
  respMs?: number
  /** 'ok', an error code, or 'unknown' (the outcome may or may not have happened). */
  outcome?: string
  /** Reads: what was seen (null: absent). set: the new stat's version and mzxid. */
  result?: ReadResult | null
}

/** Error codes after which a write may or may not have been applied. */
export const UNKNOWN_CODES: ReadonlySet<string> = new Set(['CONNECTIONLOSS', 'OPERATIONTIMEOUT'])

/** Whether `op` ended with an unknown outcome (or never ended). */
export function isUnknown (op: OpRecord): boolean {
  return op.respSeq === undefined || op.outcome === 'unknown'
}

/** A znode of the model: absent (undefined) or a value with its version. */
type ModelState = { readonly value: string, readonly version: number } | undefined

/** Applies `op` to `state`: the outcome the model predicts, the next state, and a read's result. */
function step (state: ModelState, op: OpRecord): { outcome: string, next: ModelState, version?: number, read?: ModelState } {
  switch (op.kind) {
    case 'create':
      if (state !== undefined) return { outcome: 'NODEEXISTS', next: state }
      return { outcome: 'ok', next: { value: op.value!, version: 0 } }
    case 'set': {
      if (state === undefined) return { outcome: 'NONODE', next: state }
      if (op.version !== -1 && op.version !== state.version) return { outcome: 'BADVERSION', next: state }
      const next = { value: op.value!, version: state.version + 1 }
      return { outcome: 'ok', next, version: next.version }
    }
    case 'delete':
      if (state === undefined) return { outcome: 'NONODE', next: state }
      if (op.version !== -1 && op.version !== state.version) return { outcome: 'BADVERSION', next: state }
      return { outcome: 'ok', next: undefined }
    case 'syncget':
      return { outcome: state === undefined ? 'NONODE' : 'ok', next: state, read: state }
    case 'get':
    case 'exists':
      throw new Error('plain reads are sequentially consistent, not linearizable: not in the model')
  }
}

/** Whether `op`'s recorded response agrees with what the model says from `state`. */
function matches (op: OpRecord, s: ReturnType<typeof step>): boolean {
  if (op.outcome !== s.outcome) return false
  if (op.kind === 'set' && op.outcome === 'ok') return op.result?.version === s.version
  if (op.kind === 'syncget') {
    const r = op.result ?? undefined
    if (s.read === undefined || r === undefined) return s.read === r
    return r.value === s.read.value && r.version === s.read.version
  }
  return true
}

/** Verdict of the linearizability search for one key. */
export interface LinVerdict {
  readonly ok: boolean
  /** True when the search gave up at its step budget (neither proven nor refuted). */
  readonly inconclusive: boolean
  readonly steps: number
}

/**
 * WGL search for one key's history: is there an order of the operations, consistent with real
 * time, that the model accepts? `ops` are the key's writes and synced reads. Each state of the
 * search (which operations are linearized, and the model state) is explored once.
 */
export function checkLinearizable (ops: readonly OpRecord[], budget = 2_000_000): LinVerdict {
  const sorted = [...ops].sort((a, b) => a.invokeSeq - b.invokeSeq)
  const n = sorted.length
  const resp = sorted.map((o) => isUnknown(o) ? Infinity : o.respSeq!)
  const done = new Uint8Array(n)
  let remaining = resp.filter((r) => r !== Infinity).length
  const seen = new Set<string>()
  let steps = 0
  let gaveUp = false
  const stateKey = (s: ModelState): string => s === undefined ? '-' : `${s.version}:${s.value}`

  const search = (state: ModelState): boolean => {
    if (remaining === 0) return true
    if (++steps > budget) { gaveUp = true; return false }
    let minResp = Infinity
    for (let i = 0; i < n; i++) if (done[i] === 0 && resp[i]! < minResp) minResp = resp[i]!
    for (let i = 0; i < n; i++) {
      const op = sorted[i]!
      if (op.invokeSeq > minResp) break
      if (done[i] === 1) continue
      const s = step(state, op)
      const unknown = resp[i] === Infinity
      if (!unknown && !matches(op, s)) continue
      done[i] = 1
      const key = `${stateKey(s.next)}|${Buffer.from(done).toString('base64')}`
      if (!seen.has(key)) {
        seen.add(key)
        if (!unknown) remaining--
        const found = search(s.next)
        if (!unknown) remaining++
        if (found) { done[i] = 0; return true }
      }
      done[i] = 0
      if (gaveUp) return false
    }
    return false
  }
  const ok = search(undefined)
  return { ok: ok || gaveUp, inconclusive: gaveUp, steps }
}

/** One finding of the checkers. */
export interface HistoryViolation {
  readonly check: 'linearizable' | 'session-monotonic' | 'read-your-writes'
  readonly message: string
}

/** Runs every history checker; returns the findings (empty: the history is fine) and search stats. */
export function checkHistory (ops: readonly OpRecord[]): { violations: HistoryViolation[], inconclusiveKeys: number, steps: number } {
  const violations: HistoryViolation[] = []
  const byKey = new Map<string, OpRecord[]>()
  for (const op of ops) {
    if (op.kind === 'get' || op.kind === 'exists') continue
    // A synced read that never answered constrains nothing.
    if (op.kind === 'syncget' && isUnknown(op)) continue
    let list = byKey.get(op.key)
    if (list === undefined) byKey.set(op.key, list = [])
    list.push(op)
  }
  let inconclusiveKeys = 0
  let steps = 0
  for (const [key, list] of [...byKey].sort(([a], [b]) => a < b ? -1 : 1)) {
    const v = checkLinearizable(list)
    steps += v.steps
    if (v.inconclusive) inconclusiveKeys++
    if (!v.ok) violations.push({ check: 'linearizable', message: `key ${key}: no linearization of ${list.length} writes and synced reads\n${describeOps(list)}` })
  }
  violations.push(...checkSessions(ops))
  return { violations, inconclusiveKeys, steps }
}

/**
 * Per session, in invocation order (a client runs one operation at a time): the mzxid seen for
 * a key never decreases, and after its own acknowledged setData (mzxid w) a read of that key sees
 * mzxid ≥ w or an absent node (deleted since).
 */
function checkSessions (ops: readonly OpRecord[]): HistoryViolation[] {
  const out: HistoryViolation[] = []
  const bySession = new Map<string, OpRecord[]>()
  for (const op of ops) {
    let list = bySession.get(op.session)
    if (list === undefined) bySession.set(op.session, list = [])
    list.push(op)
  }
  for (const [session, list] of bySession) {
    const seenMzxid = new Map<string, { mzxid: number, by: OpRecord, own: boolean }>()
    for (const op of [...list].sort((a, b) => a.invokeSeq - b.invokeSeq)) {
      if (op.outcome !== 'ok' || op.result === undefined || op.result === null) continue
      const floor = seenMzxid.get(op.key)
      const reading = op.kind === 'get' || op.kind === 'exists' || op.kind === 'syncget'
      if (reading && floor !== undefined && op.result.mzxid < floor.mzxid) {
        out.push({
          check: floor.own ? 'read-your-writes' : 'session-monotonic',
          message: `session ${session} key ${op.key}: op #${op.id} ${op.kind} saw mzxid ${op.result.mzxid} after op #${floor.by.id} ${floor.by.kind} had seen ${floor.mzxid}`,
        })
      }
      if (floor === undefined || op.result.mzxid > floor.mzxid) seenMzxid.set(op.key, { mzxid: op.result.mzxid, by: op, own: op.kind === 'set' })
    }
  }
  return out
}

/** A readable listing of operations, for a violation report. */
export function describeOps (ops: readonly OpRecord[]): string {
  return [...ops].sort((a, b) => a.invokeSeq - b.invokeSeq).map(describeOp).join('\n')
}

/** One operation in one line. */
export function describeOp (op: OpRecord): string {
  const args = op.kind === 'create' ? `(${op.value})` : op.kind === 'set' ? `(${op.value}, v${op.version})` : op.kind === 'delete' ? `(v${op.version})` : ''
  const res = op.result === undefined ? '' : op.result === null ? ' -> absent' : ` -> ${op.result.value}@v${op.result.version} mzxid ${op.result.mzxid}`
  const resp = op.respSeq === undefined ? 'never answered' : `[${op.respSeq}] ${op.respMs}ms ${op.outcome}`
  return `  #${op.id} c${op.client} ${op.session} ${op.kind}${args} ${op.key} [${op.invokeSeq}] ${op.invokeMs}ms → ${resp}${res}`
}
