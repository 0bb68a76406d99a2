/**
 * Shape checks for messages that arrive from the network. A peer that proved the ensemble
 * secret is trusted to be one of ours, but it may run another version or have a bug; a message
 * whose fields have the wrong types must be dropped before it reaches the core, whose
 * assertions would otherwise stop the peer.
 */
import type { Message } from './messages.js'

type Fields = Readonly<Record<string, 'number' | 'number?' | 'string' | 'boolean' | 'bytes' | 'bytes[]' | 'entries' | 'meta'>>

const fieldsByType: Readonly<Record<Message['type'], Fields>> = {
  prop: { data: 'bytes[]' },
  app: { index: 'number', logTerm: 'number', entries: 'entries', commit: 'number' },
  appResp: { index: 'number', reject: 'boolean', hintIndex: 'number', hintTerm: 'number' },
  hb: { commit: 'number', seq: 'number', ahead: 'number?', aheadTerm: 'number?' },
  hbResp: { seq: 'number', lastIndex: 'number' },
  vote: { index: 'number', logTerm: 'number', force: 'boolean' },
  preVote: { index: 'number', logTerm: 'number', force: 'boolean' },
  voteResp: { reject: 'boolean' },
  preVoteResp: { reject: 'boolean' },
  snap: { meta: 'meta', offset: 'number', totalBytes: 'number', data: 'bytes', done: 'boolean' },
  snapResp: { index: 'number', offset: 'number' },
  readIndex: { ctx: 'string' },
  readIndexResp: { ctx: 'string', index: 'number' },
  timeoutNow: {},
}

const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

function fieldOk (kind: Fields[string], v: unknown): boolean {
  switch (kind) {
    case 'number': return isCount(v)
    // Absent in messages of peers that predate the field.
    case 'number?': return v === undefined || isCount(v)
    case 'string': return typeof v === 'string'
    case 'boolean': return typeof v === 'boolean'
    case 'bytes': return v instanceof Uint8Array
    case 'bytes[]': return Array.isArray(v) && v.every((d) => d instanceof Uint8Array && d.length > 0)
    case 'entries': return Array.isArray(v) && v.every((e: { index?: unknown, term?: unknown, data?: unknown } | null) =>
      e !== null && typeof e === 'object' && isCount(e.index) && isCount(e.term) && e.data instanceof Uint8Array)
    case 'meta': {
      const m = v as { index?: unknown, term?: unknown, voters?: unknown } | null
      return m !== null && typeof m === 'object' && isCount(m.index) && isCount(m.term) &&
        Array.isArray(m.voters) && m.voters.every((p) => typeof p === 'string')
    }
  }
}

/**
 * Returns `m` as a Message if it is one, with every field of the right type (indexes and terms
 * non-negative safe integers), else undefined.
 */
export function asMessage (m: unknown): Message | undefined {
  if (m === null || typeof m !== 'object') return undefined
  const r = m as Record<string, unknown>
  if (typeof r.type !== 'string' || typeof r.from !== 'string' || typeof r.to !== 'string' || !isCount(r.term)) return undefined
  const fields = (fieldsByType as Readonly<Record<string, Fields>>)[r.type]
  if (fields === undefined) return undefined
  for (const [name, kind] of Object.entries(fields)) if (!fieldOk(kind, r[name])) return undefined
  return m as Message
}
