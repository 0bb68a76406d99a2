/**
 * Majority arithmetic over a fixed voter set (no joint consensus: zkpeer's ensembles are static).
 * Pure functions over caller-owned scratch space, so the leader's per-ack commit check allocates
 * nothing.
 */

/** Votes needed for a majority of `voters` voters. */
export function quorumSize (voters: number): number {
  return (voters >> 1) + 1
}

/**
 * The largest value that a majority of `values` is at least: sorts a copy into `scratch`
 * (length = values.length) descending and takes the quorum-th. With match indexes this is the
 * highest index a quorum holds; with ReadIndex sequence numbers, the highest confirmed round.
 */
export function quorumValue (values: readonly number[], scratch: number[]): number {
  const n = values.length
  for (let i = 0; i < n; i++) {
    // Insertion sort: n is an ensemble size (3, 5, 7), cheaper than Array#sort's callback.
    const v = values[i]
    let j = i
    while (j > 0 && scratch[j - 1] < v) {
      scratch[j] = scratch[j - 1]
      j--
    }
    scratch[j] = v
  }
  return scratch[quorumSize(n) - 1]
}
