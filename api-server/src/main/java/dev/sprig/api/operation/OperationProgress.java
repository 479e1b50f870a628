package dev.sprig.api.operation;

/** Receives an operation's progress as its work goes: {@code done} of {@code total} units. */
@FunctionalInterface
public interface OperationProgress {

    void report(long done, long total);

    /**
     * Stops the work (by throwing) when the operation was cancelled, without reporting a figure: for
     * work that has none yet, such as an import's download, which must not overwrite the progress
     * clients see with a guess.
     */
    default void checkpoint() {}
}
