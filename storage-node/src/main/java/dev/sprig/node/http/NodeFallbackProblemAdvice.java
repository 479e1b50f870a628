package dev.sprig.node.http;

import dev.sprig.node.metrics.DataPathMetrics;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.web.bind.annotation.RestControllerAdvice;

/**
 * {@link NodeProblemAdvice}'s mapping for every handler of the storage-node application, and for
 * failures before a handler is chosen (a wrong method, an unsupported media type), which reach only
 * global advice: a storage node answers them in the node API's problem+json as it answers its own
 * controllers.
 *
 * <p>Declared by the storage-node application only, like {@link NodeErrorController}: an application
 * that embeds the node API (api-server) answers what is not the node API's with its own mapping.
 */
@RestControllerAdvice
@Order(Ordered.LOWEST_PRECEDENCE)
public class NodeFallbackProblemAdvice extends NodeProblemAdvice {

    NodeFallbackProblemAdvice(DataPathMetrics metrics) {
        super(metrics);
    }
}
