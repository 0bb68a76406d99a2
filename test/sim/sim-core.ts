/**
 * A RaftCore the simulator can look inside: read-only access to its log and term, so the
 * checkers can verify log matching and leader completeness. Test-only; planted bugs subclass it.
 */
import { RaftCore } from '../../lib/consensus/core.js'
import type { RaftCoreConfig } from '../../lib/consensus/core.js'
import type { Entry, Role } from '../../lib/consensus/types.js'

/** Builds the core for a simulated node (the real one, or one with a planted bug). */
export type CoreFactory = (cfg: RaftCoreConfig) => SimCore

/** RaftCore plus read-only inspection for checkers. */
export class SimCore extends RaftCore {
  /** Current role. */
  get roleNow (): Role { return this.role }
  /** Current term. */
  get termNow (): number { return this.term }
  /** Commit index. */
  get commitNow (): number { return this.log.commit }
  /** First in-memory index minus one (snapshot index). */
  get snapIndexNow (): number { return this.log.snapIndex }
  /** Last log index. */
  get lastIndexNow (): number { return this.log.lastIndex() }
  /** Term at `index`, -1 if unknown. */
  termAt (index: number): number { return this.log.term(index) }
  /** The in-memory entry at `index` (after the snapshot). */
  entryAt (index: number): Entry { return this.log.entry(index) }
}

/** The factory of the correct core. */
export const correctCore: CoreFactory = (cfg) => new SimCore(cfg)
