/**
 * Interning of ACL lists, so the thousands of znodes that share an ACL share one frozen array
 * (ZooKeeper's ReferenceCountedACLCache, in spirit). Reference counts free a list once the last
 * node using it goes, so distinct ACLs never accumulate. Owned by one DataTree.
 */

import { assert } from '../assert.js'
import type { ACL } from './types.js'

interface Entry { readonly acl: readonly ACL[], readonly key: string, refs: number }

function keyOf (acl: readonly ACL[]): string {
  return acl.map((a) => `${a.perms}\u0000${a.id.scheme}\u0000${a.id.id}`).join('\u0001')
}

/** Reference-counted interning of ACL lists. */
export class AclTable {
  readonly #byKey = new Map<string, Entry>()
  readonly #byList = new Map<readonly ACL[], Entry>()

  /**
   * Returns the shared, frozen list equal to `acl` (entry by entry, in order) and counts `refs`
   * more references to it (one per node that will use it). The caller must {@link release}
   * each when its node stops using it.
   */
  intern (acl: readonly ACL[], refs = 1): readonly ACL[] {
    const key = keyOf(acl)
    let entry = this.#byKey.get(key)
    if (entry === undefined) {
      const frozen = Object.freeze(acl.map((a) => Object.freeze({ perms: a.perms, id: Object.freeze({ scheme: a.id.scheme, id: a.id.id }) })))
      entry = { acl: frozen, key, refs: 0 }
      this.#byKey.set(key, entry)
      this.#byList.set(frozen, entry)
    }
    entry.refs += refs
    return entry.acl
  }

  /**
   * Counts one more reference to a list previously returned by {@link intern} (used to undo a
   * release). If the list had been freed, it is registered again as the same object.
   */
  retain (shared: readonly ACL[]): void {
    const entry = this.#byList.get(shared)
    if (entry !== undefined) {
      entry.refs++
      return
    }
    const key = keyOf(shared)
    assert(!this.#byKey.has(key), 'a freed ACL list is re-registered only while no equal list exists')
    const fresh: Entry = { acl: shared, key, refs: 1 }
    this.#byKey.set(key, fresh)
    this.#byList.set(shared, fresh)
  }

  /** Drops one reference to a shared list; frees it when none remain. */
  release (shared: readonly ACL[]): void {
    const entry = this.#byList.get(shared)
    assert(entry !== undefined, 'release of an ACL list the table does not hold')
    assert(entry.refs > 0, 'ACL reference counts never go negative')
    if (--entry.refs === 0) {
      this.#byList.delete(shared)
      this.#byKey.delete(entry.key)
    }
  }

  /** Forgets every list (the tree is replacing all its nodes at once). */
  clear (): void {
    this.#byKey.clear()
    this.#byList.clear()
  }

  /** Number of distinct lists held (for tests and status). */
  get size (): number {
    return this.#byKey.size
  }
}
