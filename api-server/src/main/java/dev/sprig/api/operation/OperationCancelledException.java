package dev.sprig.api.operation;

/**
 * Thrown from an operation's progress report once the operation is no longer running (a client
 * cancelled it): the work unwinds from there, and the runner, finding the operation already ended,
 * records nothing more.
 */
public final class OperationCancelledException extends RuntimeException {

    OperationCancelledException(String operationId) {
        super("operation " + operationId + " was cancelled");
    }
}
