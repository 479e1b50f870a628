package dev.sprig.agent.route;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.nbd.server.MemoryDisk;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.nbd.server.RawNbdClient;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A column whose preferred member is dead (it still counts as in sync until api-server replaces
 * it, through a whole rebuild): its port accepts a connection and closes it at once, and counts
 * them. Reads go on from the other member without connecting to the dead one before each read.
 */
class DeadMemberReadsTest {

    static final int PC = 64 << 10;
    static final int SIZE = 4 * PC;

    final AtomicInteger deadConnections = new AtomicInteger();
    ServerSocket dead;
    Thread acceptor;
    NbdServer alive;
    NodeChannels channels;
    NbdServer agent;

    @BeforeEach
    void start() throws Exception {
        dead = new ServerSocket(0);
        acceptor = new Thread(() -> {
            while (!dead.isClosed()) {
                try (Socket refused = dead.accept()) {
                    deadConnections.incrementAndGet();
                } catch (java.io.IOException closed) {
                    return;
                }
            }
        });
        acceptor.setDaemon(true);
        acceptor.start();
        MemoryDisk disk = new MemoryDisk(SIZE);
        alive = NbdServer.start(
                name -> name.equals("token/7") ? disk : null, "127.0.0.1", 0, NbdServer.Settings.of(1, "alive"));
        channels = new NodeChannels(Duration.ofSeconds(60));
        var column = new ReplicaColumn(
                0,
                4,
                List.of(
                        new ReplicaMember(
                                preferredOver("alive"), new NodeExport("127.0.0.1", dead.getLocalPort(), "token/7")),
                        new ReplicaMember("alive", new NodeExport("127.0.0.1", alive.port(), "token/7"))),
                List.of());
        var attachment = new Attachment("disk-dead-member", 7, SIZE, PC, List.of(column), true, Long.MAX_VALUE);
        var proxied = new ProxiedDisk(
                attachment,
                new Attachments(URI.create("http://127.0.0.1:9"), "unused"),
                channels,
                Executors.newSingleThreadExecutor());
        agent = NbdServer.start(
                name -> name.equals("disk-dead-member") ? proxied : null,
                "127.0.0.1",
                0,
                NbdServer.Settings.of(1, "agent"));
    }

    /** A node id that column 0's reads prefer over {@code other}'s: the dead member's. */
    private static String preferredOver(String other) {
        for (int i = 0; ; i++) {
            if (ReplicaColumn.weight(0, "dead-" + i) > ReplicaColumn.weight(0, other)) {
                return "dead-" + i;
            }
        }
    }

    @AfterEach
    void stop() throws Exception {
        agent.close();
        channels.close();
        alive.close();
        dead.close();
    }

    @Test
    void readsPassOverAMemberWhoseConnectionFailedInsteadOfReconnectingBeforeEachRead() throws Exception {
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), "disk-dead-member")) {
            for (int i = 0; i < 50; i++) {
                assertThat(client.read((long) (i % 4) * PC, 4096).error()).isZero();
            }
        }
        // one failed connection per second of reads at most (the run takes well under a second or two)
        assertThat(deadConnections.get()).isBetween(1, 3);
    }
}
