/**
 * The envelopes peers exchange over a transport, beside consensus messages: forwarded
 * proposals and session heartbeats. Incoming envelopes are checked before use, since a frame
 * that decodes is not yet a well-formed message.
 */
import { asMessage } from './consensus/message-check.js'
import type { Message } from './consensus/messages.js'

/** A consensus message. */
export interface RaftEnvelope { readonly k: 'raft', readonly m: Message }
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
    case 'raft':
      return asMessage(m.m) === undefined ? undefined : message as RaftEnvelope
    case 'fwd':
      return Array.isArray(m.d) && m.d.every((d) => d instanceof Uint8Array && d.length >= 8) ? message as ForwardEnvelope : undefined
    case 'touch':
      return Array.isArray(m.s) && m.s.every((s) => typeof s === 'string' && /^[0-9]{1,20}$/.test(s)) ? message as TouchEnvelope : undefined
    default:
      return undefined
  }
}
