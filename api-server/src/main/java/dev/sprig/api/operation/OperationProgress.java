package dev.sprig.api.operation;

/** Receives an operation's progress as its work goes: {@code done} of {@code total} units. */
@FunctionalInterface
public interface OperationProgress {

    void report(long done, long total);
}
