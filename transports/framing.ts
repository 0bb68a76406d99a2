/**
 * Wire framing shared by the TCP and WebSocket transports: every message is one frame, a 4-byte
 * big-endian payload length followed by a msgpack payload. The memory transport uses the same
 * codec so that it copies messages exactly as the wire would.
 *
 * Invariants: the decoder never buffers more than one frame's declared length beyond what it
 * has already parsed, and refuses a frame whose declared length exceeds the limit as soon as
 * the 4 header bytes arrive, before any of its payload is kept. This module owns no sockets.
 */
import { Packr } from 'msgpackr'

/** Bytes in a frame header. */
export const FRAME_HEADER_BYTES = 4

/** Default limit on one frame's payload (16 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024

/**
 * The one msgpack codec of the transports. Records are off so every frame decodes on its own
 * (a peer that restarts knows no structures); maps decode as plain objects; binary payloads are
 * copied out of the receive buffer so a small Uint8Array kept in a log does not pin a large
 * socket chunk. Uint8Array and Buffer encode as msgpack bin and decode as Buffer.
 */
const codec = new Packr({
  useRecords: false,
  moreTypes: false,
  mapsAsObjects: true,
  copyBuffers: true,
  int64AsType: 'number',
})

/**
 * The same codec for a payload the decoder copied into a buffer of its own (a frame that spanned
 * socket chunks): binary values are views of it, not copies. They pin no more than their frame,
 * and sparing the copy matters for the large ones (4 MiB snapshot chunks): each copy costs fresh
 * memory to fill, which is slow on a machine where first-touched pages are.
 */
const viewCodec = new Packr({
  useRecords: false,
  moreTypes: false,
  mapsAsObjects: true,
  copyBuffers: false,
  int64AsType: 'number',
})

/** Encodes `message` to a msgpack payload (no header). Throws if it cannot be encoded. */
export function encodePayload (message: unknown): Buffer {
  return codec.pack(message)
}

/** A trailing binary value from this size on is written after its message instead of copied into it. */
export const SPLICE_MIN_BYTES = 256 * 1024

/** A payload as pieces to write one after another (see {@link encodeSplicedPayload}). */
export interface PayloadPieces {
  readonly pieces: readonly Buffer[]
  /** Bytes of all the pieces. */
  readonly length: number
}

/**
 * {@link encodePayload}, except that when the value msgpack writes last is a binary of at least
 * {@link SPLICE_MIN_BYTES} (a snapshot chunk: the last property of the last property…), it is
 * not copied: the payload comes back as the bytes before it, its msgpack header and the binary
 * itself, the same bytes on the wire. Copying megabytes into a fresh buffer per message costs
 * more than encoding them where first-touched memory is slow.
 */
export function encodeSplicedPayload (message: unknown): Buffer | PayloadPieces {
  const split = withoutTrailingBinary(message, MAX_SPLICE_DEPTH)
  if (split === undefined) return codec.pack(message)
  const [rest, binary] = split
  const packed = codec.pack(rest)
  // The empty stand-in is written last, as bin 8 of length 0: its header is replaced.
  if (packed.length < 2 || packed[packed.length - 2] !== 0xc4 || packed[packed.length - 1] !== 0) return codec.pack(message)
  const header = Buffer.allocUnsafe(5)
  header[0] = 0xc6
  header.writeUInt32BE(binary.length, 1)
  const head = packed.subarray(0, packed.length - 2)
  const body = Buffer.from(binary.buffer, binary.byteOffset, binary.byteLength)
  return { pieces: [head, header, body], length: head.length + header.length + body.length }
}

/** Objects are searched this deep for a trailing binary (an envelope and its message). */
const MAX_SPLICE_DEPTH = 3
const NO_BYTES = new Uint8Array(0)

/**
 * `value` with its trailing binary (see {@link encodeSplicedPayload}) replaced by an empty one,
 * and that binary; undefined if it has none that large. Copies only the objects on the way.
 */
function withoutTrailingBinary (value: unknown, depth: number): [unknown, Uint8Array] | undefined {
  if (value instanceof Uint8Array) return value.length >= SPLICE_MIN_BYTES ? [NO_BYTES, value] : undefined
  if (depth === 0 || typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const record = value as Record<string, unknown>
  let last: string | undefined
  for (const key in record) last = key
  if (last === undefined) return undefined
  const inner = withoutTrailingBinary(record[last], depth - 1)
  if (inner === undefined) return undefined
  return [{ ...record, [last]: inner[0] }, inner[1]]
}

/**
 * Decodes one msgpack payload. Throws on malformed input or trailing bytes. With `owned` (the
 * caller gives `payload` up to the message: nothing else uses or reuses it), binary values are
 * views of it instead of copies.
 */
export function decodePayload (payload: Uint8Array, owned = false): unknown {
  return owned ? viewCodec.unpack(payload) : codec.unpack(payload)
}

/** Encodes `message` as one complete frame (header + payload). */
export function encodeFrame (message: unknown): Buffer {
  return frameOf(encodePayload(message))
}

/** The header of a frame of `payloadBytes`, for a payload written separately after it. */
export function frameHeader (payloadBytes: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES)
  header.writeUInt32BE(payloadBytes, 0)
  return header
}

/** Prefixes an encoded payload with its length header. */
export function frameOf (payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length)
  frame.writeUInt32BE(payload.length, 0)
  frame.set(payload, FRAME_HEADER_BYTES)
  return frame
}

/**
 * Writes `payloads` as consecutive frames into one buffer, so a batch of messages costs one
 * write (one syscall on a socket, one WebSocket message).
 */
export function concatFrames (payloads: readonly Uint8Array[], totalPayloadBytes: number): Buffer {
  const out = Buffer.allocUnsafe(totalPayloadBytes + FRAME_HEADER_BYTES * payloads.length)
  let at = 0
  for (const p of payloads) {
    out.writeUInt32BE(p.length, at)
    out.set(p, at + FRAME_HEADER_BYTES)
    at += FRAME_HEADER_BYTES + p.length
  }
  return out
}

/** Why a byte stream was refused; `reason` is stable, for logs and tests. */
export class FrameError extends Error {
  override readonly name = 'FrameError'
  constructor (readonly reason: 'oversize' | 'undecodable', detail: string, opts?: ErrorOptions) {
    super(`${reason}: ${detail}`, opts)
  }
}

/**
 * Incremental frame decoder. Feed it chunks in arrival order with `push`; it calls `onMessage`
 * once per complete frame, in order. `push` throws a {@link FrameError} when a frame declares
 * more than `maxFrameBytes` or does not decode; the stream is then unusable and the caller
 * closes the connection. `maxFrameBytes` may be changed between frames (e.g. from inside
 * `onMessage`, to lift the small handshake limit once a peer is authenticated).
 */
export class FrameDecoder {
  /** Payload limit applied to every frame whose header is read from now on. */
  maxFrameBytes: number
  private readonly onMessage: (message: unknown) => void
  /** Unparsed bytes, oldest first; `buffered` is their total length. */
  private chunks: Buffer[] = []
  private buffered = 0
  /** Payload length of the frame being assembled, once its header has been read. */
  private need = -1
  private failed = false

  constructor (maxFrameBytes: number, onMessage: (message: unknown) => void) {
    this.maxFrameBytes = maxFrameBytes
    this.onMessage = onMessage
  }

  /** Bytes held while waiting for the rest of a frame. */
  get bufferedBytes (): number {
    return this.buffered
  }

  /** Consumes `chunk`, delivering every frame it completes. */
  push (chunk: Buffer): void {
    if (this.failed) throw new FrameError('undecodable', 'decoder already failed')
    if (chunk.length === 0) return
    this.chunks.push(chunk)
    this.buffered += chunk.length
    try {
      this.drain()
    } catch (err) {
      // Drop what is held: the connection is going away and must not pin memory meanwhile.
      this.failed = true
      this.chunks = []
      this.buffered = 0
      throw err
    }
  }

  private drain (): void {
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < FRAME_HEADER_BYTES) return
        const length = this.take(FRAME_HEADER_BYTES).readUInt32BE(0)
        if (length > this.maxFrameBytes) {
          throw new FrameError('oversize', `frame of ${length} bytes exceeds limit of ${this.maxFrameBytes}`)
        }
        this.need = length
      }
      if (this.buffered < this.need) return
      // A payload within one socket chunk is a view of it, and must not be pinned by what it
      // decodes to; one copied together from several chunks belongs to its message alone.
      const owned = this.need > (this.chunks[0]?.length ?? 0)
      const payload = this.take(this.need)
      this.need = -1
      let message: unknown
      try {
        message = decodePayload(payload, owned)
      } catch (err) {
        throw new FrameError('undecodable', err instanceof Error ? err.message : String(err), { cause: err })
      }
      this.onMessage(message)
    }
  }

  /** Removes and returns the next `n` buffered bytes; zero-copy when they lie in one chunk. */
  private take (n: number): Buffer {
    this.buffered -= n
    const first = this.chunks[0]
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    // Spans chunks: copy exactly once into a buffer of the final size, its own (not a slice of
    // Node's shared pool), since what the payload decodes to may keep views of it.
    const out = Buffer.allocUnsafeSlow(n)
    let at = 0
    while (at < n) {
      const c = this.chunks[0] as Buffer
      const k = Math.min(c.length, n - at)
      c.copy(out, at, 0, k)
      at += k
      if (k === c.length) this.chunks.shift()
      else this.chunks[0] = c.subarray(k)
    }
    return out
  }
}
