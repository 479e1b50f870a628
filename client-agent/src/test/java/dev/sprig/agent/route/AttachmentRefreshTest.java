package dev.sprig.agent.route;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.sprig.nbd.server.MemoryDisk;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.nbd.server.RawNbdClient;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Data tokens expire, so the agent fetches a disk's attachment again before its tokens do and opens
 * new node connections with the fresh one. Here a stand-in api-server hands out a new token with a
 * 3 s life at every fetch, and a node opens its export only for a token that has not expired; the
 * node connections close after 300 ms without requests, so nearly every request opens one.
 */
class AttachmentRefreshTest {

    static final int PC = 64 << 10;
    static final int SIZE = 4 * PC;
    static final Duration LIFETIME = Duration.ofSeconds(3);

    final MemoryDisk held = new MemoryDisk(SIZE);
    final Map<String, Instant> tokens = new ConcurrentHashMap<>();
    final AtomicInteger fetches = new AtomicInteger();
    final AtomicInteger refused = new AtomicInteger();
    NbdServer node;
    HttpServer api;
    NodeChannels channels;
    AttachedDisks disks;
    NbdServer agent;

    @BeforeEach
    void start() throws Exception {
        node = NbdServer.start(
                name -> {
                    Instant expiry = tokens.get(name);
                    if (expiry == null || !Instant.now().isBefore(expiry)) {
                        refused.incrementAndGet();
                        return null;
                    }
                    return held;
                },
                "127.0.0.1",
                0,
                NbdServer.Settings.of(2, "node"));
        api = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        api.createContext("/v1/disks/disk-r/attachment", exchange -> {
            String token = "t" + fetches.incrementAndGet();
            Instant expiresAt = Instant.now().plus(LIFETIME);
            tokens.put(token + "/9", expiresAt);
            byte[] body = ("{\"externId\":\"disk-r\",\"lcId\":9,\"sizeBytes\":" + SIZE + ",\"pcSizeBytes\":" + PC
                            + ",\"segmentSizeBytes\":" + PC + ",\"access\":\"read-write\",\"expiresAt\":\"" + expiresAt
                            + "\",\"nodes\":[{\"nodeId\":\"n\",\"nbd\":\"nbd://127.0.0.1:" + node.port() + "/" + token
                            + "/9\"}]}")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        api.setExecutor(Executors.newFixedThreadPool(2));
        api.start();
        channels = new NodeChannels(Duration.ofMillis(300));
        disks = new AttachedDisks(
                new Attachments(
                        URI.create("http://127.0.0.1:" + api.getAddress().getPort()), "key"),
                channels);
        agent = NbdServer.start(disks, "127.0.0.1", 0, NbdServer.Settings.of(2, "agent"));
    }

    @AfterEach
    void stop() throws Exception {
        agent.close();
        disks.close();
        channels.close();
        node.close();
        api.stop(0);
    }

    @Test
    void aClientIsServedForThreeLifetimesOfTheTokenWithoutAnyExpiredTokenPresented() throws Exception {
        byte[] block = new byte[4096];
        long end = System.nanoTime() + LIFETIME.multipliedBy(3).toNanos();
        int round = 0;
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), "disk-r")) {
            while (System.nanoTime() < end) {
                Arrays.fill(block, (byte) ++round);
                long offset = (long) (round % 4) * PC;
                assertThat(client.write(offset, block)).as("write %d", round).isZero();
                Thread.sleep(400); // longer than the node connections' idle limit: the next request reconnects
                assertThat(client.read(offset, block.length).data())
                        .as("read %d", round)
                        .isEqualTo(block);
            }
        }

        assertThat(round).isGreaterThan(8);
        assertThat(fetches.get())
                .as("the attachment was fetched again about every two seconds")
                .isBetween(4, 8);
        assertThat(refused.get()).as("connections opened with an expired token").isZero();
    }

    @Test
    void aDiskIdleLongerThanItsTokensLifeGetsAFreshTokenAtItsNextUse() throws Exception {
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), "disk-r")) {
            assertThat(client.write(0, new byte[] {1, 2, 3, 4})).isZero();
            Thread.sleep(LIFETIME.plusSeconds(1).toMillis());

            assertThat(client.read(0, 4).data())
                    .as("the refused connection fetched a fresh token and retried")
                    .containsExactly(1, 2, 3, 4);
        }
        assertThat(fetches.get()).isGreaterThanOrEqualTo(2);
    }
}
