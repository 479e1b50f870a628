package dev.sprig.api.error;

/**
 * A failure a client can act on. {@link #code()} is stable (it is part of the API contract); the
 * message says what happened to which resource. Sealed so that the mapping to HTTP is exhaustive.
 */
public abstract sealed class SprigException extends RuntimeException
        permits SprigException.NotFound,
                SprigException.AlreadyExists,
                SprigException.InvalidArgument,
                SprigException.InvalidState,
                SprigException.HasDependents,
                SprigException.NodeUnavailable,
                SprigException.InsufficientNodes,
                SprigException.InsufficientReplicas,
                SprigException.DatabaseUnavailable,
                SprigException.CacheFull {

    SprigException(String message) {
        super(message);
    }

    SprigException(String message, Throwable cause) {
        super(message, cause);
    }

    public abstract String code();

    /** A failure that passes: the answer says how long to wait ({@code Retry-After}). */
    public interface Transient {
        java.time.Duration retryAfter();
    }

    public static NotFound notFound(String what) {
        return new NotFound(what + " does not exist");
    }

    public static AlreadyExists alreadyExists(String what) {
        return new AlreadyExists(what + " already exists");
    }

    public static InvalidArgument invalidArgument(String message) {
        return new InvalidArgument(message);
    }

    public static InvalidState invalidState(String message) {
        return new InvalidState(message);
    }

    public static HasDependents hasDependents(String what, java.util.List<String> dependents) {
        return new HasDependents(what + " has " + dependents.size() + " dependent(s); delete them first", dependents);
    }

    /**
     * A storage node the request needs does not answer (down, too slow, or its circuit breaker is
     * open): retry after {@code retryAfter}; requests that need other nodes keep working.
     */
    public static NodeUnavailable nodeUnavailable(String nodeId, java.time.Duration retryAfter, String why) {
        return new NodeUnavailable("storage node " + nodeId + " is unavailable: " + why, nodeId, retryAfter);
    }

    /**
     * A new family needs {@code needed} distinct up nodes (one replica set's worth) and only
     * {@code up} are up, not draining and answering calls (a node whose circuit breaker is open is
     * left out even while its heartbeats are recent): nothing was placed; retry once nodes are back.
     */
    public static InsufficientNodes insufficientNodes(int up, int needed, java.time.Duration retryAfter) {
        return new InsufficientNodes(
                "a new family needs " + needed + " storage nodes up (sprig.api.backend.nodes.replicas) and " + up
                        + (up == 1 ? " is" : " are") + " up and answering",
                up,
                retryAfter);
    }

    /**
     * Storage node {@code nodeId} did not answer, and dropping it from its replica sets would leave
     * column {@code column} of family {@code familyId} with fewer than {@code minInSync} members that
     * have every write: the request changed nothing.
     */
    public static InsufficientReplicas insufficientReplicas(
            long familyId, int column, int inSync, int minInSync, String why, java.time.Duration retryAfter) {
        return new InsufficientReplicas(
                "too few copies of family " + familyId + " would remain: column " + column + " would keep " + inSync
                        + " in-sync member(s), fewer than the " + minInSync + " required (" + why + ")",
                retryAfter);
    }

    /**
     * An import needs more room than the image cache can make: everything it could evict is read by
     * disks or snapshots (or the image alone is larger than the cache).
     */
    public static CacheFull cacheFull(String message) {
        return new CacheFull(message);
    }

    /**
     * The connection to PostgreSQL was lost (a restart, a fail-over) and a retry on a fresh
     * connection did not help, or the loss came while the transaction was committing, so that
     * whether it was applied is unknown ({@code applied} is then null; false when it surely was not).
     */
    public static DatabaseUnavailable databaseUnavailable(
            java.time.Duration retryAfter, @org.jspecify.annotations.Nullable Boolean applied, Throwable cause) {
        String message = Boolean.FALSE.equals(applied)
                ? "the database is unavailable (its connection was lost); nothing was changed: retry after"
                        + " Retry-After"
                : "the database connection was lost while the change was being committed: it may or may not"
                        + " have been applied. Look the resource up, or repeat the request with the same"
                        + " Idempotency-Key: a create that was applied is not applied twice (its name is taken,"
                        + " 409 ALREADY_EXISTS)";
        return new DatabaseUnavailable(message, retryAfter, applied, cause);
    }

    public static final class DatabaseUnavailable extends SprigException implements Transient {
        private final java.time.Duration retryAfter;
        private final @org.jspecify.annotations.Nullable Boolean applied;

        DatabaseUnavailable(
                String message,
                java.time.Duration retryAfter,
                @org.jspecify.annotations.Nullable Boolean applied,
                Throwable cause) {
            super(message, cause);
            this.retryAfter = retryAfter;
            this.applied = applied;
        }

        @Override
        public java.time.Duration retryAfter() {
            return retryAfter;
        }

        /** False: nothing was changed; null: the change may or may not have been committed. */
        public @org.jspecify.annotations.Nullable Boolean applied() {
            return applied;
        }

        @Override
        public String code() {
            return "DATABASE_UNAVAILABLE";
        }
    }

    public static final class CacheFull extends SprigException {
        CacheFull(String message) {
            super(message);
        }

        @Override
        public String code() {
            return "CACHE_FULL";
        }
    }

    public static final class InsufficientNodes extends SprigException implements Transient {
        private final int up;
        private final java.time.Duration retryAfter;

        InsufficientNodes(String message, int up, java.time.Duration retryAfter) {
            super(message);
            this.up = up;
            this.retryAfter = retryAfter;
        }

        /** How many nodes were up (and not draining) when the family was refused. */
        public int up() {
            return up;
        }

        @Override
        public java.time.Duration retryAfter() {
            return retryAfter;
        }

        @Override
        public String code() {
            return "INSUFFICIENT_NODES";
        }
    }

    public static final class InsufficientReplicas extends SprigException implements Transient {
        private final java.time.Duration retryAfter;

        InsufficientReplicas(String message, java.time.Duration retryAfter) {
            super(message);
            this.retryAfter = retryAfter;
        }

        @Override
        public java.time.Duration retryAfter() {
            return retryAfter;
        }

        @Override
        public String code() {
            return "INSUFFICIENT_REPLICAS";
        }
    }

    public static final class NodeUnavailable extends SprigException implements Transient {
        private final String nodeId;
        private final java.time.Duration retryAfter;

        NodeUnavailable(String message, String nodeId, java.time.Duration retryAfter) {
            super(message);
            this.nodeId = nodeId;
            this.retryAfter = retryAfter;
        }

        public String nodeId() {
            return nodeId;
        }

        @Override
        public java.time.Duration retryAfter() {
            return retryAfter;
        }

        @Override
        public String code() {
            return "NODE_UNAVAILABLE";
        }
    }

    /** Deleting something that other resources still read from. */
    public static final class HasDependents extends SprigException {
        private final java.util.List<String> dependents;

        HasDependents(String message, java.util.List<String> dependents) {
            super(message);
            this.dependents = java.util.List.copyOf(dependents);
        }

        /** The extern_ids that depend on it. */
        public java.util.List<String> dependents() {
            return dependents;
        }

        @Override
        public String code() {
            return "HAS_DEPENDENTS";
        }
    }

    public static final class NotFound extends SprigException {
        NotFound(String message) {
            super(message);
        }

        @Override
        public String code() {
            return "NOT_FOUND";
        }
    }

    public static final class AlreadyExists extends SprigException {
        AlreadyExists(String message) {
            super(message);
        }

        @Override
        public String code() {
            return "ALREADY_EXISTS";
        }
    }

    public static final class InvalidArgument extends SprigException {
        InvalidArgument(String message) {
            super(message);
        }

        @Override
        public String code() {
            return "INVALID_ARGUMENT";
        }
    }

    public static final class InvalidState extends SprigException {
        InvalidState(String message) {
            super(message);
        }

        @Override
        public String code() {
            return "INVALID_STATE";
        }
    }
}
