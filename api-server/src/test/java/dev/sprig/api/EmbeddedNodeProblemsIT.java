package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.engine.ChunkEngine;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * api-server serves the node API in-process, yet each keeps its own error mapping: a failure of the
 * node API's controllers (under /v1/lcs) is answered as a storage node answers it, with the node's
 * codes, and a failure of api-server's controllers as api-server answers it, even when both are the
 * same engine exception.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "sprig.api.api-keys=" + EmbeddedNodeProblemsIT.KEY,
            "sprig.node.token=" + EmbeddedNodeProblemsIT.NODE_TOKEN
        })
class EmbeddedNodeProblemsIT {

    static final String KEY = "node-problems-key-0123456789";
    static final String NODE_TOKEN = "node-problems-node-token";
    /** No lc has this id: the engine's lc ids are api-server's sequence, far below it. */
    static final long NO_SUCH_LC = 987_654_321_987L;

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "embedded-node-problems");
    }

    @TestConfiguration
    static class EngineFailures {

        /**
         * An api-server controller that lets the engine's failure for an unknown lc escape, as a bug
         * would. Registered as a member of this configuration (scans skip test classes).
         */
        @RestController
        static class UnknownLcController {
            private final ChunkEngine engine;

            UnknownLcController(ChunkEngine engine) {
                this.engine = engine;
            }

            @GetMapping("/v1/test-failures/unknown-lc")
            long size() {
                return engine.info(NO_SUCH_LC).sizeBytes();
            }
        }
    }

    @LocalServerPort
    int port;

    ApiClient api;
    ApiClient node;

    @BeforeEach
    void clients() {
        api = new ApiClient(port, KEY);
        node = new ApiClient(port, NODE_TOKEN);
    }

    @Test
    void anUnknownLcOnTheNodeApiIsTheNodesNotFound() {
        HttpResponse<String> response = node.get("/v1/lcs/" + NO_SUCH_LC);

        assertProblem(response, 404, "UNKNOWN_LC");
    }

    @Test
    void aCopyOffASegmentOnTheNodeApiIsTheNodesInvalidArgument() {
        HttpResponse<String> response = node.post(
                "/v1/lcs/" + NO_SUCH_LC + ":copyFrom",
                "{\"source\":{\"endpoint\":\"http://127.0.0.1:9\",\"token\":\"t\",\"lcId\":1},"
                        + "\"offset\":1,\"length\":4096}");

        assertProblem(response, 400, "INVALID_ARGUMENT");
        assertThat(ApiClient.json(response).path("detail").asString()).contains("starts on a segment");
    }

    @Test
    void theEmbeddedNodesFencesAnswerTheNodeTokenWithTheNodesCodesAndNothingElse() {
        assertProblem(node.putJson("/v1/fences/0/0", "{\"epoch\":2}"), 400, "INVALID_ARGUMENT");
        HttpResponse<String> raised = node.putJson("/v1/fences/5/0", "{\"epoch\":2}");
        assertThat(raised.statusCode()).as(raised.body()).isEqualTo(200);
        assertThat(ApiClient.json(node.get("/v1/fences")).get(0).path("epoch").asLong())
                .isEqualTo(2);

        assertThat(api.get("/v1/fences").statusCode())
                .as("an API key is no node token")
                .isEqualTo(401);
        assertThat(api.putJson("/v1/fences/5/0", "{\"epoch\":3}").statusCode()).isEqualTo(401);
    }

    @Test
    void theSameEngineFailureInAnApiServerControllerIsApiServersInternalError() {
        HttpResponse<String> response = api.get("/v1/test-failures/unknown-lc");

        assertProblem(response, 500, "INTERNAL");
        assertThat(response.body()).doesNotContain(Long.toString(NO_SUCH_LC));
    }

    @Test
    void anUnknownDiskOnApiServersApiIsApiServersNotFound() {
        assertProblem(api.get("/v1/disks/disk-doesnotexist000"), 404, "NOT_FOUND");
    }
}
