package dev.sprig.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.agent.route.AttachedDisks;
import dev.sprig.agent.route.Attachments;
import dev.sprig.agent.route.NodeChannels;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.nbd.server.RawNbdClient;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * With attachments whose data tokens live 3 s ({@code sprig.api.attachments.token-lifetime}), the
 * agent keeps a disk served for many lifetimes, through node connections that close when idle and
 * reopen with whatever token the agent holds by then: a real api-server and its embedded node.
 */
class AttachmentRefreshIT {

    static final Duration LIFETIME = Duration.ofSeconds(3);
    static final int MIB = 1 << 20;

    static ApiServerProcess apiServer;
    static NodeChannels pool;
    static AttachedDisks disks;
    static NbdServer agent;
    static SprigApi api;

    @BeforeAll
    static void start() throws Exception {
        apiServer = ApiServerProcess.start(
                "agent-refresh", "--sprig.api.attachments.token-lifetime=" + LIFETIME.toSeconds() + "s");
        pool = new NodeChannels(Duration.ofMillis(300));
        disks = new AttachedDisks(new Attachments(apiServer.uri(), ApiServerProcess.KEY), pool);
        agent = NbdServer.start(disks, "127.0.0.1", 0, NbdServer.Settings.of(4, "agent-worker"));
        api = new SprigApi(apiServer.uri(), ApiServerProcess.KEY);
    }

    @AfterAll
    static void stop() throws Exception {
        if (agent != null) {
            agent.close();
        }
        if (disks != null) {
            disks.close();
        }
        if (pool != null) {
            pool.close();
        }
        if (apiServer != null) {
            apiServer.close();
        }
    }

    @Test
    void aDiskStaysServedForThreeLifetimesOfItsTokensAndAfterAnIdleSpellLongerThanOne() throws Exception {
        String disk = api.clone(api.image(new byte[8 * MIB]));
        assertThat(api.attachment(disk).expiresAt()).isNotNull();
        byte[] block = new byte[64 << 10];
        long end = System.nanoTime() + LIFETIME.multipliedBy(3).toNanos();
        int round = 0;
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {
            while (System.nanoTime() < end) {
                Arrays.fill(block, (byte) ++round);
                long offset = (long) (round % 8) * MIB;
                assertThat(client.write(offset, block)).as("write %d", round).isZero();
                Thread.sleep(400); // past the node connections' idle limit: the next request reconnects
                assertThat(client.read(offset, block.length).data())
                        .as("read %d", round)
                        .isEqualTo(block);
            }
            Thread.sleep(LIFETIME.plusSeconds(1).toMillis());

            assertThat(client.read((long) (round % 8) * MIB, block.length).data())
                    .as("after an idle spell longer than a token's life")
                    .isEqualTo(block);
            assertThat(client.write(0, block)).isZero();
        }
        assertThat(round).isGreaterThan(5);
    }

    @Test
    void aDiskHeldOpenWithoutIoStaysHeldForWritingPastItsTokensLifeAndIsFreedWhenItsClientLeaves() throws Exception {
        String disk = api.clone(api.image(new byte[8 * MIB]));
        String snapshot = api.snapshot(disk);
        try (RawNbdClient idle = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {
            Thread.sleep(LIFETIME.multipliedBy(2).toMillis());

            var refused = org.assertj.core.api.Assertions.catchThrowableOfType(
                    dev.sprig.client.ApiException.class, () -> api.revert(disk, snapshot));
            assertThat(refused)
                    .as("the agent renewed its lease while the client sat idle")
                    .isNotNull();
            assertThat(refused.status()).isEqualTo(409);
            assertThat(refused.problem().detail()).contains("attached for writing by 'sprig-agent@");
            assertThat(idle.read(0, 4096).error()).isZero();
        }

        assertThat(api.revertOnceDetached(disk, snapshot).externId()).isEqualTo(disk);
    }
}
