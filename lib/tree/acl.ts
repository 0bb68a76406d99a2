/**
 * ACL semantics (ZK-SEMANTICS §5): fixing up an ACL list on create/setACL, checking a session's
 * ids against a node's ACL, the digest scheme's id, and getACL's masking. Pure functions of
 * their arguments; node:crypto is used only for the deterministic SHA-1 of the digest scheme.
 *
 * A session's ids (`authIds`) are what it proved: `digest:user:hash` after addAuth, `ip:addr`,
 * and `super:…` for the superuser. `world:anyone` matches everyone and need not be listed.
 */

import { createHash } from 'node:crypto'
import { ZkError } from '../errors.js'
import { ipMatches, parseIpRange } from './ip.js'
import { Perms, type ACL, type Id } from './types.js'

/** Schemes whose ids count as authenticated, so that an `auth` ACL entry expands to them. */
const authenticatedSchemes = new Set(['digest', 'sasl', 'x509'])

/**
 * The digest scheme's id for credentials `user:password`: `user:` + base64(SHA-1(UTF-8 of the
 * whole credential text)), exactly as ZooKeeper's DigestAuthenticationProvider computes it.
 * `user` is the text before the first `:` (the whole text when there is none).
 */
export function digestId (credentials: string): string {
  const colon = credentials.indexOf(':')
  const user = colon < 0 ? credentials : credentials.slice(0, colon)
  return `${user}:${createHash('sha1').update(credentials, 'utf8').digest('base64')}`
}

/** Java's `String.split(":")`: trailing empty strings dropped (`'u:'` → 1 part, `''` → 1). */
function javaSplitColon (text: string): string[] {
  if (text === '') return ['']
  const parts = text.split(':')
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop()
  return parts
}

function isValidId (scheme: string, id: string): boolean {
  switch (scheme) {
    case 'digest': return javaSplitColon(id).length === 2
    case 'ip': return parseIpRange(id) !== undefined
    default: return false
  }
}

/**
 * Validates an ACL list for create/setACL and returns the list the node will store, or a
 * ZkError('INVALIDACL') value (never thrown, so every replica reaches the same verdict).
 *
 * Refused: a non-array or empty list, a malformed entry, `world` with an id other than
 * `anyone`, an unknown scheme, a digest id that does not split into exactly two parts, an ip id
 * that is not an address with in-range `/bits`, and an `auth` entry when the session holds no
 * authenticated id. `auth` entries become one entry per authenticated id of the session, with
 * the same perms. Exact duplicates are dropped, first occurrence kept. Perm bits are not checked
 * (ZooKeeper accepts 0 and stray bits).
 */
export function fixupAcl (acl: unknown, authIds: readonly Id[], path?: string): ACL[] | ZkError {
  const invalid = (why: string): ZkError => new ZkError('INVALIDACL', why, path)
  if (!Array.isArray(acl) || acl.length === 0) return invalid('the ACL list must be a non-empty array')
  const out: ACL[] = []
  const seen = new Set<string>()
  const add = (perms: number, scheme: string, id: string): void => {
    const key = `${perms}\u0000${scheme}\u0000${id}`
    if (seen.has(key)) return
    seen.add(key)
    out.push({ perms, id: { scheme, id } })
  }
  for (const entry of acl as unknown[]) {
    if (typeof entry !== 'object' || entry === null) return invalid('an ACL entry must be an object')
    const { perms, id } = entry as { perms?: unknown, id?: unknown }
    if (typeof perms !== 'number' || !Number.isInteger(perms)) return invalid('an ACL entry needs integer perms')
    if (typeof id !== 'object' || id === null) return invalid('an ACL entry needs an id')
    const { scheme, id: text } = id as { scheme?: unknown, id?: unknown }
    if (typeof scheme !== 'string' || typeof text !== 'string') return invalid('an ACL id needs a string scheme and id')
    if (scheme === 'world') {
      if (text !== 'anyone') return invalid(`the world scheme only has the id 'anyone', not '${text}'`)
      add(perms, scheme, text)
    } else if (scheme === 'auth') {
      const mine = authIds.filter((a) => authenticatedSchemes.has(a.scheme))
      if (mine.length === 0) return invalid('an auth ACL needs an authenticated session (call addAuth first)')
      for (const a of mine) add(perms, a.scheme, a.id)
    } else {
      if (!isValidId(scheme, text)) {
        return invalid(scheme === 'digest' || scheme === 'ip' ? `malformed ${scheme} id '${text}'` : `unknown ACL scheme '${scheme}'`)
      }
      add(perms, scheme, text)
    }
  }
  return out
}

/**
 * True when a session holding `authIds` may perform an operation needing any bit of `perm` on
 * a node with `acl`. Allowed when the session holds a `super` id, when the ACL is empty, or when
 * an entry grants one of the bits to `world:anyone` or to an id the session holds (digest and
 * other schemes by exact equality, ip by address range).
 */
export function checkAcl (acl: readonly ACL[], perm: number, authIds: readonly Id[]): boolean {
  if (acl.length === 0) return true
  for (const a of authIds) if (a.scheme === 'super') return true
  for (const entry of acl) {
    if ((entry.perms & perm) === 0) continue
    const { scheme, id } = entry.id
    if (scheme === 'world' && id === 'anyone') return true
    for (const a of authIds) {
      if (a.scheme !== scheme) continue
      if (scheme === 'ip' ? ipMatches(id, a.id) : a.id === id) return true
    }
  }
  return false
}

/**
 * The ACL as getACL returns it: unchanged for a session with ADMIN on the node, otherwise with
 * each digest id's hash replaced by `x` (`bob:x`), so the hash cannot be attacked offline
 * (ZooKeeper 3.7+, ZOOKEEPER-1392). Always a fresh array.
 */
export function aclForReader (acl: readonly ACL[], authIds: readonly Id[]): ACL[] {
  if (checkAcl(acl, Perms.ADMIN, authIds)) return acl.map((a) => ({ perms: a.perms, id: { scheme: a.id.scheme, id: a.id.id } }))
  return acl.map((a) => ({
    perms: a.perms,
    id: { scheme: a.id.scheme, id: a.id.scheme === 'digest' ? `${a.id.id.slice(0, a.id.id.indexOf(':'))}:x` : a.id.id },
  }))
}
