package dev.sprig.api.database;

/** The configured external database did not answer within the start-up timeout. */
public final class DatabaseUnreachableException extends RuntimeException {

    private final String url;

    DatabaseUnreachableException(String url, String reason, Throwable cause) {
        super("Cannot reach the database at " + url + ": " + reason, cause);
        this.url = url;
    }

    public String url() {
        return url;
    }
}
