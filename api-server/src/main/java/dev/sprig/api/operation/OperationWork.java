package dev.sprig.api.operation;

/**
 * What one kind of operation does, provided by the feature it belongs to. The runner owns the
 * operation's row and the transactions that end it; the work changes its own resources inside them,
 * so that an operation and its result commit together.
 *
 * <p>{@link #perform} may run again for the same operation after a crash, so it must be idempotent.
 */
public interface OperationWork {

    Operation.Kind kind();

    /**
     * The long part, outside any transaction. Throwing fails the operation with the exception's
     * message.
     */
    void perform(Operation operation, OperationProgress progress);

    /**
     * Commits the result, inside the transaction that marks the operation succeeded.
     *
     * @return what to do once that transaction has committed (storage clean-up)
     */
    Runnable succeed(Operation operation);

    /** Puts back what starting the operation set aside, inside the transaction that marks it failed. */
    void fail(Operation operation, String error);
}
