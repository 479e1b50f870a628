package dev.sprig.api.database;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Reports an unreachable database as one clear message instead of a wall of stack traces. */
class DatabaseUnreachableFailureAnalyzer extends AbstractFailureAnalyzer<DatabaseUnreachableException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, DatabaseUnreachableException cause) {
        return new FailureAnalysis(
                cause.getMessage(),
                "Check that PostgreSQL is running and reachable at " + cause.url()
                        + " and that SPRING_DATASOURCE_USERNAME / SPRING_DATASOURCE_PASSWORD are right,"
                        + " or unset SPRING_DATASOURCE_URL to use the embedded database.",
                cause);
    }
}
