package dev.sprig.node.storage;

import dev.sprig.node.fence.DamagedFencesException;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Reports a damaged fences file as one clear message at start-up instead of a wall of stack traces. */
class DamagedFencesFailureAnalyzer extends AbstractFailureAnalyzer<DamagedFencesException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, DamagedFencesException cause) {
        return new FailureAnalysis(cause.getMessage(), cause.action(), cause);
    }
}
