package dev.sprig.agent.route;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.nbd.client.ExportRefusedException;
import dev.sprig.nbd.client.NbdClient;
import dev.sprig.nbd.server.MemoryDisk;
import dev.sprig.nbd.server.NbdServer;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The pool against an NBD server standing in for a node (the agent's own, serving a disk in memory). */
class NodePoolTest {

    NbdServer node;
    NodeExport export;

    @BeforeEach
    void start() throws Exception {
        node = NbdServer.start(
                name -> name.equals("token/1") ? new MemoryDisk(1 << 20) : null,
                "127.0.0.1",
                0,
                NbdServer.Settings.of(2, "node-worker"));
        export = new NodeExport("127.0.0.1", node.port(), "token/1");
    }

    @AfterEach
    void stop() throws Exception {
        node.close();
    }

    @Test
    void aConnectionIsKeptForTheNextRequest() throws Exception {
        try (NodePool pool = new NodePool()) {
            assertThat(pool.call(export, NbdClient::flush)).isZero();
            assertThat(pool.call(export, NbdClient::flush)).isZero();

            assertThat(pool.idleConnections()).isEqualTo(1);
        }
    }

    @Test
    void connectionsIdleLongerThanTheLimitAreClosed() throws Exception {
        try (NodePool pool = new NodePool(Duration.ofHours(1))) {
            pool.call(export, NbdClient::flush);

            pool.closeIdle();
            assertThat(pool.idleConnections()).as("not idle long enough").isEqualTo(1);
        }
        try (NodePool pool = new NodePool(Duration.ZERO.plusNanos(1))) {
            pool.call(export, NbdClient::flush);

            pool.closeIdle();
            assertThat(pool.idleConnections()).isZero();
        }
    }

    @Test
    void anExportTheNodeDoesNotHaveIsRefused() {
        var absent = new NodeExport("127.0.0.1", node.port(), "token/2");
        try (NodePool pool = new NodePool()) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> pool.call(absent, NbdClient::flush))
                    .isInstanceOf(ExportRefusedException.class);
            assertThat(pool.idleConnections()).isZero();
        }
    }
}
