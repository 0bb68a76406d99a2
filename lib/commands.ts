/**
 * The commands carried in log entries, and their encoding.
 *
 * An entry's data is an 8-byte header holding the transaction time (float64 epoch ms, big
 * endian) followed by the command in the layout of command-codec.ts. The proposing peer leaves the time zero and
 * the leader stamps its own clock into the header when it appends the entry, so znode times
 * come from the leader (as ZooKeeper's PrepRequestProcessor fixes them) without decoding the
 * command. Apply reads the time from the entry, never from a clock.
 */
import { checkCommand, CommandDecodeError, readCommand, writeCommand } from './command-codec.js'
export { copyCommand } from './command-codec.js'
import type { PeerId } from './consensus/types.js'
import type { Id, WriteOp } from './tree/types.js'

/** Opens a session owned by `origin`; its id is the zxid of this entry. */
export interface OpenCommand {
  readonly t: 'open'
  readonly origin: PeerId
  /** Lets the origin match the applied entry to its request. */
  readonly nonce: string
  readonly timeoutMs: number
  /** The session's password (16 random bytes from the origin), for attaching elsewhere. */
  readonly password: Uint8Array
}

/** Moves a live session to `origin`, whose client presented its id and password. */
export interface AttachCommand {
  readonly t: 'attach'
  readonly sid: string
  readonly origin: PeerId
  /** Lets the origin match the applied entry to its request (and a re-sent copy to the first). */
  readonly nonce: string
  readonly password: Uint8Array
}

/**
 * Closes a session (by its owner, or by the leader when it expired), if it is still in
 * ownership epoch `epoch`: a close sent before the session moved elsewhere does not end it.
 */
export interface CloseCommand {
  readonly t: 'close'
  readonly sid: string
  readonly expired: boolean
  readonly epoch: number
}

/** A write (one op, or an atomic multi) by a session, with its sequence number and auth ids. */
export interface WriteCommand {
  readonly t: 'write'
  readonly sid: bigint
  readonly seq: number
  readonly auth: readonly Id[]
  readonly ops: readonly WriteOp[]
  /** True for `multi` (results per op, all or nothing); false for a single op. */
  readonly multi: boolean
}

/** Deletes a due container or TTL node (ZooKeeper's deleteContainer), proposed by the leader. */
export interface ReapCommand {
  readonly t: 'reap'
  readonly path: string
}

/** Every command a log entry can carry. */
export type Command = OpenCommand | AttachCommand | CloseCommand | WriteCommand | ReapCommand

const HEADER_BYTES = 8
/** Converts the header's time without a DataView per entry (the views would be garbage per write). */
const timeView = new DataView(new ArrayBuffer(HEADER_BYTES))
const timeBytes = new Uint8Array(timeView.buffer)

/** Encodes `command` with a zero time header, for the leader to stamp. */
export function encodeCommand (command: Command): Uint8Array {
  return writeCommand(command, HEADER_BYTES)
}

/** Writes the leader's time into an encoded command's header, in place. */
export function stampTime (data: Uint8Array, timeMs: number): void {
  timeView.setFloat64(0, timeMs)
  data.set(timeBytes, 0)
}

/** Decodes an entry's data into its time and command; op data are views into `data` (see readCommand). */
export function decodeCommand (data: Uint8Array): { timeMs: number, command: Command } {
  if (data.length < HEADER_BYTES) throw new CommandDecodeError(`an entry of ${data.length} bytes has no command header`)
  for (let i = 0; i < HEADER_BYTES; i++) timeBytes[i] = data[i]!
  const timeMs = timeView.getFloat64(0)
  return { timeMs, command: readCommand(data, HEADER_BYTES) }
}

/** True if `data` decodes as a command (checked by the leader before it appends a forwarded one). */
export function isCommand (data: Uint8Array): boolean {
  try {
    if (data.length < HEADER_BYTES) return false
    checkCommand(data, HEADER_BYTES)
    return true
  } catch (err) {
    if (err instanceof CommandDecodeError) return false
    throw err
  }
}
