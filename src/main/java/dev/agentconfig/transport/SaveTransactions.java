package dev.agentconfig.transport;

import dev.agentconfig.core.WriteResult;

/**
 * The transaction around a save's target writes (route write-targets). On the jdbc transport both targets
 * and the save's audit row are one transaction: one commit, one WAL flush per save, each target behind
 * its own savepoint so that one target's refusal still lets the other land. Over PostgREST each request
 * commits on its own: these steps change nothing there.
 */
public interface SaveTransactions {

    /** Before the targets: the save's transaction (its connection is opened by the first target that writes). */
    WriteResult begin(WriteResult result);

    /**
     * After the targets: the audit row of a save that every target took, then one commit. A commit that
     * fails leaves nothing written: every target it had written is then queued with that failure.
     */
    WriteResult commit(WriteResult result);

    /** Whatever happened: what was not committed is rolled back and the connection goes back to the pool. */
    void release(WriteResult result);

    /** Each request commits on its own (the rest transport). */
    SaveTransactions NONE = new SaveTransactions() {
        @Override
        public WriteResult begin(WriteResult result) {
            return result;
        }

        @Override
        public WriteResult commit(WriteResult result) {
            return result;
        }

        @Override
        public void release(WriteResult result) {
        }
    };
}
