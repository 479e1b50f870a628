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
                SprigException.CacheFull {

    SprigException(String message) {
        super(message);
    }

    public abstract String code();

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
     * An import needs more room than the image cache can make: everything it could evict is read by
     * disks or snapshots (or the image alone is larger than the cache).
     */
    public static CacheFull cacheFull(String message) {
        return new CacheFull(message);
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

    public static final class NodeUnavailable extends SprigException {
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
