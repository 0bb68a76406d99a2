/**
 * The watches registered on one peer, and which of them a tree change fires (ZooKeeper 3.9
 * semantics, ZK-SEMANTICS §7). Owns no I/O: the peer feeds it the changes of each applied
 * transaction, in log order, and it hands each event to the owning session synchronously, so a
 * session receives the event before any later promise of the write resolves.
 *
 * Tables, as ZooKeeper keeps them:
 * - data: one-shot watches from getData and exists (exists may watch a missing node);
 * - child: one-shot watches from getChildren;
 * - persistent: `addWatch` on one path (all four event types for that path);
 * - recursive: `addWatch` recursive (created/changed/deleted for the path and its descendants,
 *   never NodeChildrenChanged).
 */
import type { ACL, Stat, TreeChange, WatchEvent, WatchEventType } from '../tree/types.js'

/** A function that receives watch events. */
export type WatchListener = (event: WatchEvent) => void

/** The session side of a watch: may it see nodes with this ACL, and how to hand it an event. */
export interface WatchOwner {
  /** True if the owner holds READ on `acl`; events it may not read are dropped (one-shots are still used up). */
  canRead (acl: readonly ACL[]): boolean
  /** Delivers `event` to `listener`. Called at most once per listener per event. */
  deliver (listener: WatchListener, event: WatchEvent): void
}

/** Which table a watch sits in. */
export type WatchKind = 'data' | 'child' | 'persistent' | 'recursive'

/** One registered watch. Its identity is the handle used to remove it. */
export interface Watch {
  readonly kind: WatchKind
  readonly path: string
  readonly owner: WatchOwner
  readonly listener: WatchListener
  /** For data watches: whether the node existed when the watch was set (exists() may watch a missing node). */
  readonly existed: boolean
}

/** What {@link WatchRegistry.catchUp} needs to know of a node now: its stat and ACL, or undefined if absent. */
export type NodeLookup = (path: string) => { readonly stat: Stat, readonly acl: readonly ACL[] } | undefined

/** The watches of one peer. */
export class WatchRegistry {
  private readonly tables: Record<WatchKind, Map<string, Set<Watch>>> = {
    data: new Map(), child: new Map(), persistent: new Map(), recursive: new Map(),
  }

  private count = 0
  /** Each owner's watches, so ending a session costs its own watches, not every watch. */
  private readonly byOwner = new Map<WatchOwner, Set<Watch>>()

  /** Number of registered watches (all kinds). */
  get size (): number {
    return this.count
  }

  /** Registers a watch and returns it (its handle for {@link remove}). */
  add (kind: WatchKind, path: string, owner: WatchOwner, listener: WatchListener, existed = true): Watch {
    const watch: Watch = { kind, path, owner, listener, existed }
    const table = this.tables[kind]
    let set = table.get(path)
    if (set === undefined) table.set(path, set = new Set())
    set.add(watch)
    let mine = this.byOwner.get(owner)
    if (mine === undefined) this.byOwner.set(owner, mine = new Set())
    mine.add(watch)
    this.count++
    return watch
  }

  /** Removes one watch; returns false if it was not registered (already fired or removed). */
  remove (watch: Watch): boolean {
    const table = this.tables[watch.kind]
    const set = table.get(watch.path)
    if (set === undefined || !set.delete(watch)) return false
    if (set.size === 0) table.delete(watch.path)
    this.unindex(watch)
    this.count--
    return true
  }

  /** Removes every watch of `owner` (its session ended). */
  removeOwner (owner: WatchOwner): void {
    for (const w of [...this.byOwner.get(owner) ?? []]) this.remove(w)
  }

  private unindex (watch: Watch): void {
    const mine = this.byOwner.get(watch.owner)
    if (mine === undefined) return
    mine.delete(watch)
    if (mine.size === 0) this.byOwner.delete(watch.owner)
  }

  /** Calls `fn` for every registered watch (a copy of the list: `fn` may remove watches). */
  forEachWatch (fn: (w: Watch) => void): void {
    const all: Watch[] = []
    for (const table of Object.values(this.tables)) for (const set of table.values()) for (const w of set) all.push(w)
    for (const w of all) fn(w)
  }

  /** Appends the watches of `table` at `path` to `fired`; one-shot ones are removed as they fire. */
  private take (table: Map<string, Set<Watch>>, path: string, oneShot: boolean, fired: Watch[]): void {
    const set = table.get(path)
    if (set === undefined) return
    for (const w of set) fired.push(w)
    if (oneShot) {
      table.delete(path)
      this.count -= set.size
      for (const w of set) this.unindex(w)
    }
  }

  /**
   * Fires the watches that `change` triggers, at `zxid`. One-shot watches are removed whether
   * or not the ACL filter lets the event through, as ZooKeeper does.
   */
  trigger (change: TreeChange, zxid: number): void {
    if (this.count === 0) return
    const { type, path } = change
    const { data, child, persistent, recursive } = this.tables
    // Most changes hit no watch even when watches exist: look before allocating anything.
    const dataHit = type !== 'NodeChildrenChanged' && data.has(path)
    const childHit = (type === 'NodeChildrenChanged' || type === 'NodeDeleted') && child.has(path)
    if (!dataHit && !childHit && !persistent.has(path) && (recursive.size === 0 || type === 'NodeChildrenChanged')) return
    const fired: Watch[] = []
    if (dataHit) this.take(data, path, true, fired)
    if (childHit) this.take(child, path, true, fired)
    this.take(persistent, path, false, fired)
    if (type !== 'NodeChildrenChanged' && recursive.size > 0) {
      for (let p: string | undefined = path; p !== undefined; p = parentOrUndefined(p)) this.take(recursive, p, false, fired)
    }
    if (fired.length === 0) return
    const event: WatchEvent = { type, path, zxid }
    // ZooKeeper sends a session one notification per event, and the client hands it to each
    // listener once, however many registrations led to it.
    const delivered = new Map<WatchOwner, Set<WatchListener>>()
    for (const w of fired) {
      let listeners = delivered.get(w.owner)
      if (listeners === undefined) {
        if (!w.owner.canRead(change.acl)) continue
        delivered.set(w.owner, listeners = new Set())
      }
      if (listeners.has(w.listener)) continue
      listeners.add(w.listener)
      w.owner.deliver(w.listener, event)
    }
  }
}

/**
 * Fires what each watch would have seen of the changes this peer skipped by installing a
 * snapshot (everything after zxid `since`), the way ZooKeeper's setWatches answers a client that
 * reconnects: a data watch gets NodeDeleted if its node is gone, NodeCreated if it was absent
 * and now exists, NodeDataChanged if the node changed after `since`; a child watch gets
 * NodeDeleted or, if children changed, NodeChildrenChanged; a persistent watch gets the events
 * its node's stat shows. Recursive watches cannot be rebuilt from stats and get nothing, as in
 * ZooKeeper. `zxid` is the snapshot's.
 */
export function catchUpWatches (registry: WatchRegistry, since: number, zxid: number, look: NodeLookup): void {
  registry.forEachWatch((w) => {
    if (w.kind === 'recursive') return
    const node = look(w.path)
    const types: WatchEventType[] = []
    if (node === undefined) {
      if (w.existed && w.kind !== 'persistent') types.push('NodeDeleted')
    } else if (w.kind === 'child') {
      if (node.stat.pzxid > since) types.push('NodeChildrenChanged')
    } else {
      if (node.stat.czxid > since || (!w.existed && w.kind === 'data')) types.push('NodeCreated')
      else if (node.stat.mzxid > since) types.push('NodeDataChanged')
      if (w.kind === 'persistent' && node.stat.pzxid > since && node.stat.pzxid !== node.stat.czxid) types.push('NodeChildrenChanged')
    }
    if (types.length === 0) return
    if (w.kind !== 'persistent') registry.remove(w)
    if (node !== undefined && !w.owner.canRead(node.acl)) return
    for (const type of types) w.owner.deliver(w.listener, { type, path: w.path, zxid })
  })
}

function parentOrUndefined (path: string): string | undefined {
  if (path === '/') return undefined
  const i = path.lastIndexOf('/')
  return i === 0 ? '/' : path.slice(0, i)
}
