/**
 * The envelopes peers exchange over a transport, beside consensus messages: forwarded
 * proposals and session heartbeats. Incoming envelopes are checked before use, since a frame
 * that decodes is not yet a well-formed message.
 */
import type { MessageBase } from './consensus/types.js'

/** A consensus message. */
export interface RaftEnvelope { readonly k: 'raft', readonly m: MessageBase }
/** Proposals forwarded to the leader, which stamps its time on them and appends them. */
export interface ForwardEnvelope { readonly k: 'fwd', readonly d: readonly Uint8Array[] }
/** Heartbeats for a follower's local sessions (ids as decimal strings), sent to the leader. */
export interface TouchEnvelope { readonly k: 'touch', readonly s: readonly string[] }

/** Every envelope. */
export type Envelope = RaftEnvelope | ForwardEnvelope | TouchEnvelope

/** Returns `message` as an Envelope if it has the right shape, else undefined. */
export function parseEnvelope (message: unknown): Envelope | undefined {
  if (message === null || typeof message !== 'object') return undefined
  const m = message as { k?: unknown, m?: unknown, d?: unknown, s?: unknown }
  switch (m.k) {
    case 'raft': {
      const r = m.m as { type?: unknown, from?: unknown, to?: unknown, term?: unknown } | null | undefined
      if (r === null || typeof r !== 'object' || typeof r.type !== 'string' || typeof r.from !== 'string' ||
          typeof r.to !== 'string' || typeof r.term !== 'number') return undefined
      return message as RaftEnvelope
    }
    case 'fwd':
      return Array.isArray(m.d) && m.d.every((d) => d instanceof Uint8Array && d.length >= 8) ? message as ForwardEnvelope : undefined
    case 'touch':
      return Array.isArray(m.s) && m.s.every((s) => typeof s === 'string' && /^[0-9]{1,20}$/.test(s)) ? message as TouchEnvelope : undefined
    default:
      return undefined
  }
}
