/**
 * Assertions for programming errors. A failed assertion is a bug in zkpeer, never bad input:
 * bad input is refused with a {@link ZkError} before it reaches these checks.
 */

/** Thrown when an internal invariant does not hold. Never caught to carry on. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError'
}

/** Throws {@link AssertionError} with `why` unless `ok` is truthy. */
export function assert (ok: unknown, why = 'assertion failed'): asserts ok {
  if (!ok) throw new AssertionError(why)
}

/** Marks a branch the type system proves unreachable; throws if it is reached anyway. */
export function unreachable (value: never, why = 'unreachable'): never {
  throw new AssertionError(`${why}: ${String(value)}`)
}
