package dev.sprig.api.error;

/**
 * A failure a client can act on. {@link #code()} is stable (it is part of the API contract); the
 * message says what happened to which resource. Sealed so that the mapping to HTTP is exhaustive.
 */
public abstract sealed class SprigException extends RuntimeException
        permits SprigException.NotFound,
                SprigException.AlreadyExists,
                SprigException.InvalidArgument,
                SprigException.InvalidState {

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
