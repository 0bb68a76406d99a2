/**
 * The jute records of ZooKeeper's client protocol that the server reads and writes
 * (`zookeeper.jute`, modules `org.apache.zookeeper.data` and `.proto`), as plain objects with a
 * reader or writer each. Field order is the wire order and must not change.
 *
 * Owns only the record shapes; what a request means is the server's business. Types are
 * zkpeer's own (`Stat`, `ACL`) where they match ZooKeeper's, so no conversion layer is needed.
 */
import type { ACL, Stat } from '../tree/types.js'
import { JuteError, type JuteReader, type JuteWriter } from './jute.js'

/** `ConnectRequest`, plus the `readOnly` flag newer clients append after the jute fields. */
export interface ConnectRequest {
  readonly protocolVersion: number
  readonly lastZxidSeen: bigint
  readonly timeOut: number
  readonly sessionId: bigint
  readonly passwd: Buffer
  readonly readOnly: boolean
}

/** `ConnectResponse`, plus the `readOnly` flag (clients that do not know it ignore the byte). */
export interface ConnectResponse {
  readonly protocolVersion: number
  readonly timeOut: number
  readonly sessionId: bigint
  readonly passwd: Uint8Array
  readonly readOnly: boolean
}

/** `RequestHeader`. */
export interface RequestHeader {
  readonly xid: number
  readonly type: number
}

/** `ReplyHeader`. */
export interface ReplyHeader {
  readonly xid: number
  readonly zxid: number | bigint
  readonly err: number
}

/** `MultiHeader`: precedes each op of a multi request or response; `done` ends the list. */
export interface MultiHeader {
  readonly type: number
  readonly done: boolean
  readonly err: number
}

/** Reads a ConnectRequest; the trailing readOnly byte is optional (node-zookeeper-client omits it). */
export function readConnectRequest (r: JuteReader): ConnectRequest {
  const protocolVersion = r.int()
  const lastZxidSeen = r.long()
  const timeOut = r.int()
  const sessionId = r.long()
  const passwd = r.buffer()
  const readOnly = r.remaining > 0 ? r.boolean() : false
  return { protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly }
}

/** Writes a ConnectResponse, readOnly flag included. */
export function writeConnectResponse (w: JuteWriter, v: ConnectResponse): void {
  w.int(v.protocolVersion).int(v.timeOut).long(v.sessionId).buffer(v.passwd).boolean(v.readOnly)
}

/** Reads a RequestHeader. */
export function readRequestHeader (r: JuteReader): RequestHeader {
  return { xid: r.int(), type: r.int() }
}

/** Writes a ReplyHeader. */
export function writeReplyHeader (w: JuteWriter, v: ReplyHeader): void {
  w.int(v.xid).long(v.zxid).int(v.err)
}

/** Reads a MultiHeader. */
export function readMultiHeader (r: JuteReader): MultiHeader {
  return { type: r.int(), done: r.boolean(), err: r.int() }
}

/** Writes a MultiHeader. */
export function writeMultiHeader (w: JuteWriter, v: MultiHeader): void {
  w.int(v.type).boolean(v.done).int(v.err)
}

/** Writes a Stat (note pzxid comes last on the wire). */
export function writeStat (w: JuteWriter, s: Stat): void {
  w.long(s.czxid).long(s.mzxid).long(s.ctime).long(s.mtime)
    .int(s.version).int(s.cversion).int(s.aversion)
    .long(s.ephemeralOwner).int(s.dataLength).int(s.numChildren).long(s.pzxid)
}

/** Reads a Stat (used by tests and tools that decode replies). */
export function readStat (r: JuteReader): Stat {
  return {
    czxid: r.safeLong('czxid'),
    mzxid: r.safeLong('mzxid'),
    ctime: r.safeLong('ctime'),
    mtime: r.safeLong('mtime'),
    version: r.int(),
    cversion: r.int(),
    aversion: r.int(),
    ephemeralOwner: BigInt.asUintN(64, r.long()),
    dataLength: r.int(),
    numChildren: r.int(),
    pzxid: r.safeLong('pzxid'),
  }
}

/** Reads one ACL entry. */
export function readAcl (r: JuteReader): ACL {
  const perms = r.int()
  const scheme = r.ustring('ACL scheme')
  const id = r.ustring('ACL id')
  return { perms, id: { scheme, id } }
}

/** Writes one ACL entry. */
export function writeAcl (w: JuteWriter, a: ACL): void {
  w.int(a.perms).ustring(a.id.scheme).ustring(a.id.id)
}

/** A path-bearing request field, refused when null (every ZooKeeper path is non-null). */
function path (r: JuteReader): string {
  return r.ustring('path')
}

/** `CreateRequest` / `CreateTTLRequest` (ttl present only for opcode createTTL). */
export interface CreateRequest {
  readonly path: string
  readonly data: Buffer
  readonly acl: ACL[]
  readonly flags: number
  readonly ttl: number | undefined
}

/** Reads a CreateRequest, or a CreateTTLRequest when `withTtl`. */
export function readCreateRequest (r: JuteReader, withTtl: boolean): CreateRequest {
  const p = path(r)
  const data = r.buffer()
  const acl = r.vector(readAcl)
  const flags = r.int()
  const ttl = withTtl ? r.safeLong('ttl') : undefined
  return { path: p, data, acl, flags, ttl }
}

/** `{ path, version }`: DeleteRequest and CheckVersionRequest. */
export function readPathVersion (r: JuteReader): { path: string, version: number } {
  return { path: path(r), version: r.int() }
}

/** `{ path, watch }`: ExistsRequest, GetDataRequest, GetChildren(2)Request. */
export function readPathWatch (r: JuteReader): { path: string, watch: boolean } {
  return { path: path(r), watch: r.boolean() }
}

/** A request whose only field is a path: GetACL, Sync, GetAllChildrenNumber, GetEphemerals. */
export function readPathOnly (r: JuteReader): string {
  return path(r)
}

/** `SetDataRequest`. */
export function readSetDataRequest (r: JuteReader): { path: string, data: Buffer, version: number } {
  return { path: path(r), data: r.buffer(), version: r.int() }
}

/** `SetACLRequest`. */
export function readSetAclRequest (r: JuteReader): { path: string, acl: ACL[], version: number } {
  return { path: path(r), acl: r.vector(readAcl), version: r.int() }
}

/** `{ path, mode|type }`: AddWatchRequest, RemoveWatchesRequest, CheckWatchesRequest. */
export function readPathInt (r: JuteReader): { path: string, value: number } {
  return { path: path(r), value: r.int() }
}

/** `AuthPacket`. */
export function readAuthPacket (r: JuteReader): { type: number, scheme: string, auth: Buffer } {
  return { type: r.int(), scheme: r.ustring('auth scheme'), auth: r.buffer() }
}

/** `SetWatches` and `SetWatches2` (the latter adds persistent and recursive lists). */
export interface SetWatches {
  readonly relativeZxid: number
  readonly dataWatches: string[]
  readonly existWatches: string[]
  readonly childWatches: string[]
  readonly persistentWatches: string[]
  readonly persistentRecursiveWatches: string[]
}

/** Reads SetWatches, or SetWatches2 when `v2`. */
export function readSetWatches (r: JuteReader, v2: boolean): SetWatches {
  const relativeZxid = r.safeLong('relativeZxid')
  const list = (): string[] => r.vector((x) => x.ustring('watch path'))
  const dataWatches = list()
  const existWatches = list()
  const childWatches = list()
  const persistentWatches = v2 ? list() : []
  const persistentRecursiveWatches = v2 ? list() : []
  return { relativeZxid, dataWatches, existWatches, childWatches, persistentWatches, persistentRecursiveWatches }
}

/** Writes a WatcherEvent. */
export function writeWatcherEvent (w: JuteWriter, v: { type: number, state: number, path: string }): void {
  w.int(v.type).int(v.state).ustring(v.path)
}

/** Writes a vector of strings (GetChildrenResponse, GetEphemeralsResponse). */
export function writeStrings (w: JuteWriter, items: readonly string[]): void {
  w.vector(items, (x, s) => x.ustring(s))
}

/** Writes `WhoAmIResponse`: a vector of `ClientInfo { authScheme, user }`. */
export function writeWhoAmIResponse (w: JuteWriter, infos: ReadonlyArray<{ authScheme: string, user: string }>): void {
  w.vector(infos, (x, c) => x.ustring(c.authScheme).ustring(c.user))
}

/** Throws unless the whole record was consumed: trailing bytes mean the client and server disagree. */
export function expectEnd (r: JuteReader, what: string): void {
  if (r.remaining !== 0) throw new JuteError(`${r.remaining} unexpected trailing bytes after ${what}`)
}
