package dev.sprig.agent.route;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.server.MemoryDisk;
import dev.sprig.nbd.server.NbdDisk;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.nbd.server.RawNbdClient;
import io.netty.buffer.ByteBuf;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A one-replica disk (one column, one in-sync member) whose node hiccups, against a stand-in
 * api-server that will not drop the member (INSUFFICIENT_REPLICAS), as the real one answers for
 * the only copy of a column. The write goes to the member again until it answers or the replica
 * wait is up: a stall or a burst of errors shorter than the wait is invisible to the client.
 */
class KeptMemberTest {

    static final int PC = 64 << 10;
    static final int SIZE = 4 * PC;
    static final Duration NODE_TIMEOUT = Duration.ofMillis(300);
    static final Duration REPLICA_WAIT = Duration.ofSeconds(3);

    final HiccupDisk held = new HiccupDisk();
    final AtomicInteger dropsAsked = new AtomicInteger();
    final ExecutorService refresher = Executors.newSingleThreadExecutor();
    HttpServer api;
    NbdServer node;
    NodeChannels channels;
    NbdServer agent;

    @BeforeEach
    void start() throws Exception {
        api = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        api.createContext("/v1/disks/", exchange -> {
            if (exchange.getRequestURI().getPath().endsWith("/attachment:dropMember")) {
                dropsAsked.incrementAndGet();
            }
            byte[] body = ("{\"title\":\"Service Unavailable\",\"status\":503,\"code\":\"INSUFFICIENT_REPLICAS\","
                            + "\"detail\":\"column 0 would keep 0 in sync\"}")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(503, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        api.start();
        // two threads: a stalled write must not hold up the connection the agent opens after it
        node = NbdServer.start(
                name -> name.equals("token/7") ? held : null, "127.0.0.1", 0, NbdServer.Settings.of(2, "node"));
        channels = new NodeChannels(Duration.ofSeconds(60), NODE_TIMEOUT);
        var member = new ReplicaMember("node-0", new NodeExport("127.0.0.1", node.port(), "token/7"));
        var column = new ReplicaColumn(0, 4, List.of(member), List.of());
        var attachment = new Attachment("disk-one-copy", 7, SIZE, PC, List.of(column), true, Long.MAX_VALUE);
        var disk = new ProxiedDisk(
                attachment,
                new Attachments(
                        URI.create("http://127.0.0.1:" + api.getAddress().getPort()), "key"),
                channels,
                refresher,
                REPLICA_WAIT);
        agent = NbdServer.start(
                name -> name.equals("disk-one-copy") ? disk : null, "127.0.0.1", 0, NbdServer.Settings.of(1, "agent"));
    }

    @AfterEach
    void stop() throws Exception {
        agent.close();
        channels.close();
        node.close();
        api.stop(0);
        refresher.shutdownNow();
    }

    @Test
    void aWriteOutlastsErrorsOfTheOnlyCopyThatEndWithinTheReplicaWait() throws Exception {
        byte[] data = random(8192, 1);
        held.failUntil(System.nanoTime() + Duration.ofMillis(700).toNanos());

        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), "disk-one-copy")) {
            assertThat(client.write(PC + 4096, data)).isZero();
        }

        assertThat(ProxiedDiskTest.bytes(held.memory, PC + 4096, data.length)).isEqualTo(data);
        assertThat(held.failedWrites.get()).as("writes the node refused first").isGreaterThan(1);
        assertThat(dropsAsked.get())
                .as("api-server asked to drop the member each time")
                .isGreaterThan(1);
    }

    @Test
    void aWriteOutlastsAStallOfTheOnlyCopyLongerThanTheNodeTimeout() throws Exception {
        byte[] data = random(8192, 2);
        held.stallNextWrite(NODE_TIMEOUT.multipliedBy(3));

        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), "disk-one-copy")) {
            assertThat(client.write(0, data)).isZero();
            assertThat(client.read(0, data.length).data()).isEqualTo(data);
        }

        assertThat(dropsAsked.get()).as("the stalled connection was given up").isPositive();
    }

    @Test
    void aWriteTheOnlyCopyKeepsRefusingFailsOnceTheReplicaWaitIsUp() throws Exception {
        held.failUntil(Long.MAX_VALUE);

        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), "disk-one-copy")) {
            long started = System.nanoTime();
            int error = client.write(0, random(4096, 3));
            Duration took = Duration.ofNanos(System.nanoTime() - started);

            assertThat(error).isEqualTo(Nbd.EIO);
            assertThat(took).isBetween(REPLICA_WAIT.minusMillis(1_100), REPLICA_WAIT.plusSeconds(2));
            assertThat(client.read(0, 4096).error()).as("reads still served").isZero();
        }
        assertThat(held.failedWrites.get())
                .as("sent again with pauses growing to 1 s, not in a tight loop")
                .isBetween(4, 12);
    }

    static byte[] random(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    /** A disk in memory whose writes fail with EIO for a while, or whose next write stalls. */
    static final class HiccupDisk implements NbdDisk {

        final MemoryDisk memory = new MemoryDisk(SIZE);
        final AtomicInteger failedWrites = new AtomicInteger();
        private final AtomicLong failingUntilNanos = new AtomicLong();
        private final AtomicLong stallNanos = new AtomicLong();

        void failUntil(long nanoTime) {
            failingUntilNanos.set(nanoTime);
        }

        void stallNextWrite(Duration stall) {
            stallNanos.set(stall.toNanos());
        }

        @Override
        public long sizeBytes() {
            return memory.sizeBytes();
        }

        @Override
        public int read(long offset, int length, ByteBuf into) {
            return memory.read(offset, length, into);
        }

        @Override
        public int write(long offset, ByteBuf data, boolean fua) {
            long stall = stallNanos.getAndSet(0);
            if (stall > 0) {
                try {
                    Thread.sleep(stall / 1_000_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (System.nanoTime() < failingUntilNanos.get()) {
                failedWrites.incrementAndGet();
                return Nbd.EIO;
            }
            return memory.write(offset, data, fua);
        }

        @Override
        public int trim(long offset, long length, boolean fua) {
            return memory.trim(offset, length, fua);
        }

        @Override
        public int writeZeroes(long offset, long length, boolean fua) {
            return memory.writeZeroes(offset, length, fua);
        }

        @Override
        public int flush() {
            return memory.flush();
        }
    }
}
