package dev.sprig.api.image;

/**
 * Why an import could not read its source, worded for the client: it becomes the operation's error
 * and the image's. It never reaches HTTP (the import runs after the request has been answered), so
 * it is not a {@link dev.sprig.api.error.SprigException}.
 */
final class ImportFailure extends RuntimeException {

    ImportFailure(String message) {
        super(message);
    }

    ImportFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
