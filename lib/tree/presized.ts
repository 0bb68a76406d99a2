/** Arrays sized once, for columns filled a million elements at a time (a snapshot being decoded). */

/**
 * `array`'s elements in a fresh array of `length` (the rest undefined), allocated once: growing
 * an array a million elements long one assignment at a time copies it some thirty times, each
 * copy fresh memory (200 ms where this takes 40).
 */
export function presized<T> (array: readonly T[], length: number): Array<T | undefined> {
  const out = new Array<T | undefined>(length).fill(undefined)
  for (let i = 0; i < array.length; i++) out[i] = array[i]
  return out
}
