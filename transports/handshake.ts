/**
 * The peer handshake: both ends of a new connection exchange ids and, when the ensemble has a
 * secret, prove knowledge of it by challenge-response, in both directions, before any message
 * is accepted. The secret never crosses the wire: each side sends
 * HMAC-SHA256(secret, role ‖ clientId ‖ serverId ‖ clientNonce ‖ serverNonce), where both
 * nonces are fresh random 32-byte values, so a recorded proof is useless on another connection
 * and the role label stops a server's proof being reflected back as a client's.
 *
 *   client → server  hello     { id, nonce }
 *   server → client  challenge { id, nonce, proof(server) }     server refuses unknown ids
 *   client → server  auth      { proof(client) }                client checks server id+proof
 *   server → client  welcome   {}                               server checks client proof
 *
 * The client sends messages only after `welcome`, so nothing reaches an unauthenticated peer.
 * A side with a secret refuses a peer that sends no proof, so "secret on one side only" fails
 * both ways. These classes are pure protocol state machines: the connection code feeds them
 * decoded frames, writes their replies, and bounds time and frame size (see HANDSHAKE_*).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { PeerId } from '../lib/consensus/types.js'

/** Frame limit while handshaking: handshake messages are ~150 bytes, garbage is cut early. */
export const HANDSHAKE_MAX_FRAME_BYTES = 1024

/** Default time allowed for a whole handshake before the connection is closed. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000

const VERSION = 1
const NONCE_BYTES = 32
const MAX_ID_CHARS = 256

/** A handshake refusal; `message` says why, for the log. */
export class HandshakeError extends Error {
  override readonly name = 'HandshakeError'
}

/** What one side brings to a handshake. */
export interface HandshakeConfig {
  /** This peer's id. */
  readonly id: PeerId
  /** The ensemble secret, or undefined when the ensemble runs without one. */
  readonly secret: string | undefined
}

/**
 * The dialing side. `hello()` gives the first message; each later frame goes to `receive`,
 * which returns the reply to send (if any) and whether the connection is now authenticated.
 * Throws {@link HandshakeError} on any deviation; the caller then closes the connection.
 */
export class ClientHandshake {
  private readonly nonce = randomBytes(NONCE_BYTES)
  private serverNonce: Buffer | undefined

  /** @param expectedPeer the id the dialed URL belongs to; any other answering id is refused. */
  constructor (private readonly config: HandshakeConfig, private readonly expectedPeer: PeerId) {}

  /** The opening message. */
  hello (): unknown {
    return { hs: 'hello', v: VERSION, id: this.config.id, nonce: this.nonce }
  }

  /** Handles one server frame. */
  receive (message: unknown): { readonly reply?: unknown, readonly done: boolean } {
    const m = asRecord(message)
    if (this.serverNonce === undefined) {
      if (m.hs !== 'challenge') throw new HandshakeError(`expected challenge, got ${describe(m.hs)}`)
      const id = idOf(m.id)
      if (id !== this.expectedPeer) throw new HandshakeError(`dialed ${this.expectedPeer} but ${id} answered`)
      const serverNonce = nonceOf(m.nonce)
      const ids = { client: this.config.id, server: id }
      checkProof(m.proof, proofOf(this.config.secret, 'server', ids, this.nonce, serverNonce), 'server')
      this.serverNonce = serverNonce
      return { reply: { hs: 'auth', proof: proofOf(this.config.secret, 'client', ids, this.nonce, serverNonce) ?? null }, done: false }
    }
    if (m.hs !== 'welcome') throw new HandshakeError(`expected welcome, got ${describe(m.hs)}`)
    return { done: true }
  }
}

/**
 * The accepting side. Each client frame goes to `receive`, which returns the reply to send and,
 * once the client has proven itself, its id as `peer`. Throws {@link HandshakeError} on any
 * deviation, on an id `isKnownPeer` rejects, and on a wrong or missing proof.
 */
export class ServerHandshake {
  private readonly nonce = randomBytes(NONCE_BYTES)
  private client: { readonly id: PeerId, readonly nonce: Buffer } | undefined

  constructor (private readonly config: HandshakeConfig, private readonly isKnownPeer: (id: PeerId) => boolean) {}

  /** Handles one client frame. */
  receive (message: unknown): { readonly reply: unknown, readonly peer?: PeerId } {
    const m = asRecord(message)
    if (this.client === undefined) {
      if (m.hs !== 'hello') throw new HandshakeError(`expected hello, got ${describe(m.hs)}`)
      if (m.v !== VERSION) throw new HandshakeError(`unsupported handshake version ${describe(m.v)}`)
      const id = idOf(m.id)
      if (id === this.config.id || !this.isKnownPeer(id)) throw new HandshakeError(`peer id ${id} is not in the configured peers`)
      const clientNonce = nonceOf(m.nonce)
      this.client = { id, nonce: clientNonce }
      const proof = proofOf(this.config.secret, 'server', { client: id, server: this.config.id }, clientNonce, this.nonce)
      return { reply: { hs: 'challenge', id: this.config.id, nonce: this.nonce, proof: proof ?? null } }
    }
    if (m.hs !== 'auth') throw new HandshakeError(`expected auth, got ${describe(m.hs)}`)
    const ids = { client: this.client.id, server: this.config.id }
    checkProof(m.proof, proofOf(this.config.secret, 'client', ids, this.client.nonce, this.nonce), `peer ${this.client.id}`)
    return { reply: { hs: 'welcome' }, peer: this.client.id }
  }
}

function proofOf (
  secret: string | undefined,
  role: 'client' | 'server',
  ids: { readonly client: PeerId, readonly server: PeerId },
  clientNonce: Buffer,
  serverNonce: Buffer,
): Buffer | undefined {
  if (secret === undefined) return undefined
  const mac = createHmac('sha256', secret)
  // Length-prefix every variable field so no two distinct inputs share an encoding.
  for (const part of [role, ids.client, ids.server]) {
    const bytes = Buffer.from(part, 'utf8')
    mac.update(u32(bytes.length)).update(bytes)
  }
  return mac.update(clientNonce).update(serverNonce).digest()
}

function checkProof (got: unknown, expected: Buffer | undefined, who: string): void {
  if (expected === undefined) {
    if (got !== null && got !== undefined) throw new HandshakeError(`${who} proves a secret but none is configured here`)
    return
  }
  if (!(got instanceof Uint8Array) || got.length !== expected.length) {
    throw new HandshakeError(`${who} did not prove the ensemble secret`)
  }
  if (!timingSafeEqual(got, expected)) throw new HandshakeError(`${who} proved a wrong secret`)
}

function u32 (n: number): Buffer {
  const b = Buffer.allocUnsafe(4)
  b.writeUInt32BE(n, 0)
  return b
}

function asRecord (message: unknown): Record<string, unknown> {
  if (typeof message !== 'object' || message === null || Array.isArray(message) || message instanceof Uint8Array) {
    throw new HandshakeError('handshake message is not an object')
  }
  return message as Record<string, unknown>
}

function idOf (v: unknown): PeerId {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_ID_CHARS) throw new HandshakeError('malformed peer id')
  return v
}

function nonceOf (v: unknown): Buffer {
  if (!(v instanceof Uint8Array) || v.length !== NONCE_BYTES) throw new HandshakeError('malformed nonce')
  return Buffer.from(v)
}

function describe (v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v.slice(0, 32)) : typeof v
}
