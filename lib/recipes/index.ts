/**
 * zkpeer's recipes (API.md, Recipes): coordination built only on the public Session API, in
 * the manner of Apache Curator. Each takes a Session and a base path; see each class for its
 * contract, including what it does when its session is suspended or expires.
 */
export type { WaitOptions } from './common.js'
export { Lease } from './lease.js'
export { Lock, withLock, type AcquireOptions } from './lock.js'
export { ReadWriteLock, type LockSide } from './read-write-lock.js'
export { Semaphore } from './semaphore.js'
export { LeaderElection, type LeaderElectionOptions, type RevokeReason } from './leader-election.js'
export { Barrier } from './barrier.js'
export { DoubleBarrier } from './double-barrier.js'
export { Queue } from './queue.js'
export { Counter } from './counter.js'
export { Config, CONFIG_HISTORY, type ConfigChange, type JsonValue } from './config.js'
export { Membership } from './membership.js'
