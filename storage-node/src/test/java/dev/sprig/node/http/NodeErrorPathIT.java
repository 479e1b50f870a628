package dev.sprig.node.http;

import static dev.sprig.node.http.NodeApiIT.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.node.NodeTestDirs;
import dev.sprig.node.StorageNodeApplication;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** {@code /error} is where the container forwards failures, not a resource that fails when asked for. */
@SpringBootTest(
        classes = StorageNodeApplication.class,
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "spring.config.name=" + StorageNodeApplication.CONFIG_NAME,
            "sprig.node.nbd.port=0",
            "sprig.node.token=" + NodeApiIT.TOKEN
        })
class NodeErrorPathIT {

    @DynamicPropertySource
    static void dataDir(DynamicPropertyRegistry registry) {
        registry.add("sprig.node.data-dir", NodeTestDirs.fresh("node-error-path")::toString);
    }

    @LocalServerPort
    int port;

    @Test
    void errorAskedForDirectlyIsNotFoundNotAServerError() {
        var response = new NodeClient(port, NodeApiIT.TOKEN).get("/error");

        assertProblem(response, 404, "NOT_FOUND");
        assertThat(response.body()).doesNotContain("trace").doesNotContain("Exception");
    }

    @Test
    void aStatusTheContainerSendsIsAProblem() {
        // a path nothing serves: the container sends 404 and forwards to /error
        assertProblem(new NodeClient(port, NodeApiIT.TOKEN).get("/v1/nothing-here"), 404, "NOT_FOUND");
    }
}
