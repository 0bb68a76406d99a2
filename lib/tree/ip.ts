/**
 * The `ip` ACL scheme: parsing `addr[/bits]` and matching a session's address against it
 * (ZK-SEMANTICS §5, after ZooKeeper's IPAuthenticationProvider). IPv4 is 4 bytes, IPv6 16; the
 * two never match each other. Pure; no DNS, no zone ids.
 */

/** Parses a dotted-quad IPv4 literal into 4 bytes, or undefined when it is not one. */
function parseIPv4 (text: string): number[] | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  const bytes: number[] = []
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined
    const n = Number(p)
    if (n > 255) return undefined
    bytes.push(n)
  }
  return bytes
}

/** Parses an IPv6 literal (with `::` and an optional trailing dotted quad) into 16 bytes. */
function parseIPv6 (text: string): number[] | undefined {
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const groups = (s: string): number[] | undefined => {
    if (s === '') return []
    const out: number[] = []
    const parts = s.split(':')
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p)
        if (v4 === undefined) return undefined
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined
        out.push(parseInt(p, 16))
      }
    }
    return out
  }
  const head = groups(halves[0]!)
  const tail = halves.length === 2 ? groups(halves[1]!) : []
  if (head === undefined || tail === undefined) return undefined
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail]
  return all.flatMap((g) => [g >> 8, g & 0xff])
}

/** Parses an IPv4 or IPv6 literal into its bytes, or undefined when it is neither. */
export function parseIp (text: string): number[] | undefined {
  return text.includes(':') ? parseIPv6(text) : parseIPv4(text)
}

/** An `ip` ACL id parsed: the address bytes and the prefix length in bits. */
export interface IpRange {
  readonly bytes: readonly number[]
  readonly bits: number
}

/**
 * Parses an `ip` ACL id `addr[/bits]`; bits default to the full length (32 or 128) and must be
 * within 0..length. Undefined when malformed (which makes the ACL INVALIDACL).
 */
export function parseIpRange (text: string): IpRange | undefined {
  const slash = text.indexOf('/')
  const addr = slash < 0 ? text : text.slice(0, slash)
  const bytes = parseIp(addr)
  if (bytes === undefined) return undefined
  if (slash < 0) return { bytes, bits: bytes.length * 8 }
  const bitsText = text.slice(slash + 1)
  if (!/^\d{1,3}$/.test(bitsText)) return undefined
  const bits = Number(bitsText)
  return bits <= bytes.length * 8 ? { bytes, bits } : undefined
}

/** True when address text `addr` lies in the ACL range `rangeText` (both masked to its bits). */
export function ipMatches (rangeText: string, addr: string): boolean {
  const range = parseIpRange(rangeText)
  const bytes = parseIp(addr)
  if (range === undefined || bytes === undefined || bytes.length !== range.bytes.length) return false
  let remaining = range.bits
  for (let i = 0; i < bytes.length && remaining > 0; i++, remaining -= 8) {
    const mask = remaining >= 8 ? 0xff : (0xff << (8 - remaining)) & 0xff
    if ((bytes[i]! & mask) !== (range.bytes[i]! & mask)) return false
  }
  return true
}
