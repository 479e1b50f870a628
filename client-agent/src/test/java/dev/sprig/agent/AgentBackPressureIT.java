package dev.sprig.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.agent.route.AttachedDisks;
import dev.sprig.agent.route.Attachments;
import dev.sprig.agent.route.NodeChannels;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.nbd.server.RawNbdClient;
import dev.sprig.nbd.server.ServerBuffers;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The probe from issue 17: a client pipelines 3,000 reads of 1 MiB through the agent and never reads
 * a reply (it took the agent from 160 MiB to 3.3 GB). The agent, in this JVM, against a real
 * api-server and its storage node, must hold a bounded amount for it, serve another client
 * meanwhile, and give the memory back when the client goes.
 */
class AgentBackPressureIT {

    static final int MIB = 1 << 20;
    static final byte[] IMAGE = AgentServeIT.imageContent(16 * MIB);
    static final int READS = 3_000;
    /** What the agent may hold for one client that reads nothing: 3,000 MiB were asked for. */
    static final long BOUND = 256L * MIB;

    static ApiServerProcess apiServer;
    static NodeChannels channels;
    static AttachedDisks disks;
    static NbdServer agent;
    static SprigApi api;

    @BeforeAll
    static void start() throws Exception {
        apiServer = ApiServerProcess.start("agent-back-pressure");
        channels = new NodeChannels();
        disks = new AttachedDisks(new Attachments(apiServer.uri(), ApiServerProcess.KEY), channels);
        agent = NbdServer.start(disks, "127.0.0.1", 0, NbdServer.Settings.of(4, "agent-worker"));
        api = new SprigApi(apiServer.uri(), ApiServerProcess.KEY);
    }

    @AfterAll
    static void stop() throws Exception {
        if (agent != null) {
            agent.close();
        }
        if (channels != null) {
            channels.close();
        }
        if (apiServer != null) {
            apiServer.close();
        }
    }

    @Test
    void aClientThatReadsNoRepliesCostsABoundedAmountWhileAnotherIsServed() throws Exception {
        String disk = api.clone(api.image(IMAGE));
        warmUp(disk);
        long directBefore = directBytes();

        try (RawNbdClient stalled = stall(disk)) {
            long held = ServerBuffers.mostHeldUntilSettled(agent);

            assertThat(held)
                    .as("unsent replies and requests in flight the agent holds for it")
                    .isLessThan(BOUND);
            assertThat(directBytes() - directBefore)
                    .as("direct memory the agent took meanwhile (its buffers and its node connections')")
                    .isLessThan(BOUND);
            long started = System.nanoTime();
            try (RawNbdClient other = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {
                for (int i = 0; i < 16; i++) {
                    assertThat(other.read((long) i * MIB + 8192, 4096).data())
                            .isEqualTo(Arrays.copyOfRange(IMAGE, i * MIB + 8192, i * MIB + 8192 + 4096));
                }
            }
            assertThat(Duration.ofNanos(System.nanoTime() - started))
                    .as("16 reads of 4 KiB by another client")
                    .isLessThan(Duration.ofSeconds(3));
        }
    }

    @Test
    void whatAClientThatReadsNoRepliesHeldIsReleasedWhenItGoes() throws Exception {
        String disk = api.clone(api.image(IMAGE));
        warmUp(disk);
        long directBefore = directBytes();
        long[] kept = new long[6];
        long heldByOne = 0;

        for (int round = 0; round < kept.length; round++) {
            try (RawNbdClient stalled = stall(disk)) {
                heldByOne = Math.max(heldByOne, ServerBuffers.mostHeldUntilSettled(agent));
            }

            assertThat(heldAfterSettling())
                    .as("held once client %d is gone", round)
                    .isZero();
            kept[round] = directBytes() - directBefore;
            assertThat(kept[round])
                    .as("direct memory kept after client %d", round)
                    .isLessThan(BOUND);
        }

        // The allocator keeps chunks for reuse, and how many the first clients leave depends on
        // which arenas their threads drew and on when the JDK's cleaner ran (CI saw 25 MB after
        // the first, 61 MB after the third, here 75 MB after each): it levels off. A client's
        // buffers that were never released would add up instead, round after round.
        // and a single round's figure jumps too (86 MB after the sixth once, 28 after the fifth), so the
        // least the last three kept is held against the most the first three kept
        long firstMost = Math.max(kept[0], Math.max(kept[1], kept[2]));
        long lastLeast = Math.min(kept[3], Math.min(kept[4], kept[5]));
        assertThat(lastLeast - firstMost)
                .as(
                        "direct memory the last three clients kept beyond the first three (%s kept; one held %d)",
                        Arrays.toString(kept), heldByOne)
                .isLessThan(heldByOne / 2);
    }

    /** A client that has sent {@value #READS} reads of 1 MiB and reads nothing. */
    private static RawNbdClient stall(String disk) throws Exception {
        RawNbdClient stalled = RawNbdClient.open("127.0.0.1", agent.port(), disk);
        for (int i = 0; i < READS; i++) {
            stalled.sendRead((long) (i % 15) * MIB + (i % 5) * 4096, MIB);
        }
        return stalled;
    }

    /** Allocator pools and node connections exist before the measure starts. */
    private static void warmUp(String disk) throws Exception {
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {
            for (int i = 0; i < 15; i++) {
                assertThat(client.read((long) i * MIB, MIB).error()).isZero();
            }
        }
    }

    private static long heldAfterSettling() throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (agent.bufferedBytes() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        return agent.bufferedBytes();
    }

    /** Netty's own direct memory (it allocates most without the JDK knowing) and the JDK's. */
    static long directBytes() {
        long netty = ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT)
                .metric()
                .usedDirectMemory();
        long jdk = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(pool -> pool.getName().equals("direct"))
                .mapToLong(BufferPoolMXBean::getMemoryUsed)
                .sum();
        return netty + jdk;
    }
}
