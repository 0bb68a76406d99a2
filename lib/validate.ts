/**
 * Checks of caller input, done before anything is proposed: a malformed path, data that is not
 * bytes or a string or is too large, a bad version, mode or ACL is refused here with a
 * BADARGUMENTS (or INVALIDACL) ZkError and never reaches the ensemble.
 */
import { badArguments, ZkError } from './errors.js'
import type { CreateOptions, Data, MultiOp } from './op.js'
import { validatePath } from './tree/path.js'
import { CreateMode, type ACL, type CreateModeValue, type WriteOp } from './tree/types.js'

/** ZooKeeper's largest TTL: 2^40 - 1 ms. */
const MAX_TTL_MS = 2 ** 40 - 1

/** Converts caller data to bytes, refusing other types and anything over `maxBytes`. */
export function toBytes (data: Data | undefined, maxBytes: number, path: string): Uint8Array {
  if (data === undefined || data === null) return new Uint8Array(0)
  let bytes: Uint8Array
  if (typeof data === 'string') bytes = Buffer.from(data, 'utf8')
  else if (data instanceof Uint8Array) bytes = data
  else throw badArguments(`data must be a Buffer, Uint8Array or string, not ${describe(data)}`, path)
  if (bytes.length > maxBytes) {
    throw badArguments(`data is ${bytes.length} bytes, over the ${maxBytes}-byte limit (maxDataBytes)`, path)
  }
  return bytes
}

/** Checks a version argument: an integer from -1 (any version) to 2^31-1. */
export function toVersion (version: unknown, path: string): number {
  if (typeof version !== 'number' || !Number.isInteger(version) || version < -1 || version > 0x7fffffff) {
    throw badArguments(`version must be an integer >= -1, not ${describe(version)}`, path)
  }
  return version
}

/** Checks an ACL list's shape; its meaning (schemes, ids) is checked by the tree (INVALIDACL). */
export function toAcl (acl: unknown, path: string): readonly ACL[] {
  if (!Array.isArray(acl) || acl.length === 0) throw new ZkError('INVALIDACL', 'an ACL must be a non-empty array of { perms, id: { scheme, id } }', path)
  if (acl.length > 0xffff) throw new ZkError('INVALIDACL', `an ACL holds at most 65535 entries, not ${acl.length}`, path)
  for (const entry of acl as unknown[]) {
    const e = entry as { perms?: unknown, id?: { scheme?: unknown, id?: unknown } } | null
    if (e === null || typeof e !== 'object' || typeof e.perms !== 'number' || !Number.isInteger(e.perms) ||
        e.id === null || typeof e.id !== 'object' || typeof e.id.scheme !== 'string' || typeof e.id.id !== 'string') {
      throw new ZkError('INVALIDACL', `bad ACL entry ${describe(entry)}: expected { perms: number, id: { scheme: string, id: string } }`, path)
    }
  }
  return acl as readonly ACL[]
}

const modes = new Set<number>(Object.values(CreateMode))
const ttlModes = new Set<number>([CreateMode.PERSISTENT_WITH_TTL, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL])
const sequentialModes = new Set<number>([CreateMode.PERSISTENT_SEQUENTIAL, CreateMode.EPHEMERAL_SEQUENTIAL, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL])

/** Validates a create's arguments and returns the write op to propose. `defaults.acl` must be a valid ACL. */
export function toCreateOp (path: unknown, data: Data | undefined, options: CreateOptions | undefined, defaults: { acl: readonly ACL[], maxDataBytes: number }): WriteOp {
  const opts = options ?? {}
  if (typeof opts !== 'object') throw badArguments(`create options must be an object, not ${describe(opts)}`)
  const mode = (opts.mode ?? CreateMode.PERSISTENT) as CreateModeValue
  if (!modes.has(mode)) throw badArguments(`unknown create mode ${describe(mode)}: use a CreateMode value (0-6)`, typeof path === 'string' ? path : undefined)
  const p = validatePath(path, { sequential: sequentialModes.has(mode) })
  const ttl = opts.ttlMs
  if (ttlModes.has(mode)) {
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl <= 0 || ttl > MAX_TTL_MS) {
      throw badArguments(`a TTL mode needs ttlMs, an integer in 1..${MAX_TTL_MS}, not ${describe(ttl)}`, p)
    }
  } else if (ttl !== undefined) {
    throw badArguments('ttlMs is only allowed with PERSISTENT_WITH_TTL or PERSISTENT_SEQUENTIAL_WITH_TTL', p)
  }
  // The default ACL is a constant checked once; re-checking it on every create was pure cost.
  const acl = opts.acl === undefined ? defaults.acl : toAcl(opts.acl, p)
  const bytes = toBytes(data, defaults.maxDataBytes, p)
  return ttl === undefined
    ? { op: 'create', path: p, data: bytes, acl, mode }
    : { op: 'create', path: p, data: bytes, acl, mode, ttlMs: ttl }
}

/** Validates one op of a multi and returns the write op to propose. */
export function toWriteOp (op: MultiOp, defaults: { acl: readonly ACL[], maxDataBytes: number }): WriteOp {
  if (op === null || typeof op !== 'object') throw badArguments(`multi ops must be built with Op.*, not ${describe(op)}`)
  switch (op.op) {
    case 'create': return toCreateOp(op.path, op.data, op.options, defaults)
    case 'setData': {
      const path = validatePath(op.path)
      return { op: 'setData', path, data: toBytes(op.data, defaults.maxDataBytes, path), version: toVersion(op.version, path) }
    }
    case 'delete': {
      const path = validatePath(op.path)
      return { op: 'delete', path, version: toVersion(op.version, path) }
    }
    case 'check': {
      const path = validatePath(op.path)
      return { op: 'check', path, version: toVersion(op.version, path) }
    }
    default: throw badArguments(`unknown multi op ${describe((op as { op?: unknown }).op)}: use Op.create, Op.setData, Op.delete or Op.check`)
  }
}

/** A short description of a bad value for error messages. */
export function describe (value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : `an object (${value.constructor?.name ?? 'Object'})`
  return `${typeof value} ${String(value)}`
}
