package dev.sprig.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.node.NodeTestDirs;
import dev.sprig.node.StorageNodeApplication;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

class NodeRestartIT {

    @Test
    void aRestartedNodeServesTheSameLcsAndBytes() {
        Path dataDir = NodeTestDirs.fresh("restart");
        byte[] written = new byte[3 * 1024 * 1024 + 123];
        new Random(17).nextBytes(written);

        try (ConfigurableApplicationContext first = start(dataDir)) {
            NodeClient node = client(first);
            node.define("[{\"lcId\":1,\"sizeBytes\":16777216,\"frozen\":false}]");
            node.write(1, 1_000_000, written);
            assertThat(node.post("/v1/lcs/1:flush").statusCode()).isEqualTo(204);
            node.write(1, 9_000_000, new byte[] {1, 2, 3});
        }
        // closing the context shut the node down gracefully, which flushes the last unflushed write too

        try (ConfigurableApplicationContext second = start(dataDir)) {
            NodeClient node = client(second);
            assertThat(node.read(1, 1_000_000, written.length)).isEqualTo(written);
            assertThat(node.read(1, 9_000_000, 3)).containsExactly(1, 2, 3);
            assertThat(NodeClient.json(node.get("/v1/lcs/1")).path("sizeBytes").asLong())
                    .isEqualTo(16777216);
        }
    }

    private static ConfigurableApplicationContext start(Path dataDir) {
        return new SpringApplicationBuilder(StorageNodeApplication.class)
                .properties("spring.config.name=" + StorageNodeApplication.CONFIG_NAME)
                .run(
                        "--server.port=0",
                        "--sprig.node.data-dir=" + dataDir,
                        "--sprig.node.token=restart-token",
                        "--sprig.node.nbd.port=0");
    }

    private static NodeClient client(ConfigurableApplicationContext context) {
        int port = ((WebServerApplicationContext) context).getWebServer().getPort();
        return new NodeClient(port, "restart-token");
    }
}
