/**
 * Long-running work and its progress: a request starts an operation and answers at once; the work
 * runs in the background, writes its progress to the operation's row, and ends it succeeded or
 * failed. What an operation does belongs to its feature ({@link dev.sprig.api.operation.OperationWork});
 * this package owns the row, the worker threads, and running the work on the leader only (resuming
 * what a crash or a dead leader left running). Nothing here knows HTTP
 * but the controller.
 */
@NullMarked
package dev.sprig.api.operation;

import org.jspecify.annotations.NullMarked;
