import type { SnapshotSource } from '../../storage/index.js'

/** Everything a recovered snapshot source hands over, as one buffer (undefined when there is no snapshot). */
export async function snapshotBytes (source: SnapshotSource | undefined): Promise<Buffer | undefined> {
  if (source === undefined) return undefined
  const pieces: Buffer[] = []
  await source.pipeTo((chunk) => { pieces.push(Buffer.from(chunk)) })
  const all = Buffer.concat(pieces)
  if (all.length !== source.bytes) throw new Error(`a source of ${source.bytes} bytes handed over ${all.length}`)
  return all
}
