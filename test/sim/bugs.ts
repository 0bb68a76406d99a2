/**
 * Classic Raft bugs, planted one at a time into test-only subclasses of the core, to prove the
 * simulator catches them. Each overrides one small protected rule of {@link RaftCore}.
 */
import type { VoteMessage } from '../../lib/consensus/messages.js'
import { SimCore, type CoreFactory } from './sim-core.js'

/** A voter that voted for one candidate grants its vote again to another in the same term. */
class VoteTwice extends SimCore {
  protected override voteGrantable (m: VoteMessage): boolean {
    if (m.type === 'vote' && this.role === 'follower') return true
    return super.voteGrantable(m)
  }
}

/** Commits everything it has appended, without waiting for a quorum. */
class CommitWithoutQuorum extends SimCore {
  protected override quorumIndex (): number {
    return this.log.lastIndex()
  }
}

/** Commits an earlier term's entry as soon as a quorum holds it (Raft paper, Figure 8). */
class CommitEarlierTerm extends SimCore {
  protected override commitTermOk (_index: number): boolean {
    return true
  }
}

/** Accepts an append after any entry at the previous index, without comparing its term. */
class AppendWithoutCheck extends SimCore {
  protected override appendPrevMatches (index: number, _term: number): boolean {
    return index <= this.log.lastIndex()
  }
}

/** The planted bugs by name. */
export const plantedBugs: Readonly<Record<string, CoreFactory>> = {
  'vote twice in a term': (cfg) => new VoteTwice(cfg),
  'commit without a quorum': (cfg) => new CommitWithoutQuorum(cfg),
  'commit an earlier term\'s entry by counting': (cfg) => new CommitEarlierTerm(cfg),
  'accept an append without checking the previous entry': (cfg) => new AppendWithoutCheck(cfg),
}
