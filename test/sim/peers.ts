/** Which ensemble size a seed runs when none is forced: odd seeds 5 peers, even seeds 3. */
export function peersForSeed (seed: number, forced: 3 | 5 | undefined): 3 | 5 {
  return forced ?? (seed % 2 === 1 ? 5 : 3)
}
