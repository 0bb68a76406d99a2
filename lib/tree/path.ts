/**
 * Znode path syntax: the one place that decides whether a string names a znode.
 *
 * Mirrors ZooKeeper's `PathUtils.validatePath` (ZK-SEMANTICS §4) rule for rule, written anew:
 * absolute, no trailing `/` (except the root), no empty segment, no `.`/`..` segment, no NUL and
 * none of the UTF-16 code units ZooKeeper refuses. JS strings are UTF-16 like Java's, so checking
 * `charCodeAt` reproduces Java's per-`char` test exactly (every surrogate is refused, hence every
 * character outside the BMP). Pure functions, no state.
 */

import { badArguments } from '../errors.js'

/**
 * Why `path` is not a valid znode path, or undefined when it is. Non-throwing core of
 * {@link validatePath}, used by the tree where errors must be values.
 */
export function pathProblem (path: unknown): string | undefined {
  if (typeof path !== 'string') return `path must be a string, got ${path === null ? 'null' : typeof path}`
  if (path.length === 0) return 'path must not be empty'
  if (path.charCodeAt(0) !== 0x2f) return 'path must start with /'
  if (path.length === 1) return undefined
  if (path.charCodeAt(path.length - 1) === 0x2f) return 'path must not end with /'
  let segmentStart = 1
  for (let i = 1; i <= path.length; i++) {
    const c = i < path.length ? path.charCodeAt(i) : 0x2f // a virtual '/' closes the last segment
    if (c === 0x2f) {
      const len = i - segmentStart
      if (len === 0) return `empty segment (//) at index ${i}`
      if (path.charCodeAt(segmentStart) === 0x2e && (len === 1 || (len === 2 && path.charCodeAt(segmentStart + 1) === 0x2e))) {
        return `relative segment '${path.slice(segmentStart, i)}' at index ${segmentStart} is not allowed`
      }
      segmentStart = i + 1
    } else if (c === 0) {
      return `NUL character at index ${i}`
    } else if (isRefusedCodeUnit(c)) {
      return `invalid character U+${c.toString(16).toUpperCase().padStart(4, '0')} at index ${i}` +
        (c >= 0xd800 && c <= 0xdfff ? ' (characters outside the BMP, e.g. emoji, are not allowed)' : '')
    }
  }
  return undefined
}

/** ZooKeeper's refused ranges: C0 controls, DEL + C1 controls, surrogates + private use, specials. */
function isRefusedCodeUnit (c: number): boolean {
  return (c >= 0x01 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || (c >= 0xfff0 && c <= 0xffff)
}

/**
 * Returns `path` if it is a valid znode path, else throws `ZkError('BADARGUMENTS')` saying what
 * is wrong. With `sequential`, validates `path + '1'` as ZooKeeper does, so `/parent/` (a
 * sequential node named by digits only) is accepted; the returned string is still `path`.
 */
export function validatePath (path: unknown, opts?: { readonly sequential?: boolean }): string {
  const candidate = opts?.sequential === true && typeof path === 'string' ? path + '1' : path
  const problem = pathProblem(candidate)
  if (problem !== undefined) throw badArguments(problem, typeof path === 'string' ? path : undefined)
  return path as string
}

/**
 * The parent of a valid, non-root path (`/a/b` → `/a`, `/a` → `/`). For a sequential create's
 * pattern (`/p/` or `/p/lock-`), the parent is that of the finished name. Throws BADARGUMENTS
 * for `/`, which has no parent.
 */
export function parentOf (path: string): string {
  const i = path.lastIndexOf('/')
  if (path.length <= 1 || i < 0) throw badArguments('the root has no parent', path)
  return i === 0 ? '/' : path.slice(0, i)
}

/** The last segment of a valid path (`/a/b` → `b`); `''` for the root. */
export function basename (path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}
