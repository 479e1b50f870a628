package dev.sprig.nbd.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.nbd.server.RawNbdClient.Answered;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A client that sends many large reads at once and reads none of the replies: the server stops
 * reading its requests instead of buffering every reply, and goes on serving everyone else.
 */
class BackPressureTest {

    static final int MIB = 1 << 20;
    static final int DISK_SIZE = 64 * MIB;
    /** 512 MiB of replies asked for: far more than the server may hold for one connection. */
    static final int READS = 512;

    static final int READ = MIB;

    NbdServer server;
    byte[] content = new byte[DISK_SIZE];
    RawNbdClient stalled;
    Map<Long, Long> offsetOfCookie = new HashMap<>();

    @BeforeEach
    void aClientSendsManyReadsAndReadsNoReply() throws Exception {
        new Random(16).nextBytes(content);
        MemoryDisk disk = new MemoryDisk(DISK_SIZE);
        disk.write(0, Unpooled.wrappedBuffer(content), false);
        NbdExports exports = new NbdExports() {
            @Override
            public @Nullable NbdDisk open(String name) {
                return disk;
            }
        };
        server = NbdServer.start(
                exports, "127.0.0.1", 0, new NbdServer.Settings(2, 0, Duration.ofSeconds(5), "back-pressure"));
        stalled = RawNbdClient.open("127.0.0.1", server.port(), "disk");
        for (int i = 0; i < READS; i++) {
            long offset = (long) (i % (DISK_SIZE / READ - 1)) * READ + (i % 7) * 4096;
            offsetOfCookie.put(stalled.sendRead(offset, READ), offset);
        }
    }

    @AfterEach
    void stop() throws Exception {
        stalled.close();
        server.close();
    }

    @Test
    void theServerHoldsABoundedAmountForIt() throws Exception {
        long held = ServerBuffers.mostHeldUntilSettled(server);

        assertThat(held)
                .as("replies unsent and requests in flight, after %d MiB of reads were asked for", READS)
                .isGreaterThan(NbdServer.LOW_WATER_MARK)
                .isLessThanOrEqualTo(NbdServer.HIGH_WATER_MARK + TransmissionHandler.PAUSE_BYTES + 4L * MIB);
    }

    @Test
    void anotherClientIsServedMeanwhile() throws Exception {
        ServerBuffers.mostHeldUntilSettled(server);
        long started = System.nanoTime();
        try (RawNbdClient other = RawNbdClient.open("127.0.0.1", server.port(), "disk")) {
            for (int i = 0; i < 32; i++) {
                long offset = (long) i * READ;

                assertThat(other.read(offset, READ).data())
                        .isEqualTo(Arrays.copyOfRange(content, (int) offset, (int) offset + READ));
            }
        }
        // generous: it takes milliseconds; without back-pressure it still would, so this only
        // guards against the stalled client blocking the event loop or the workers
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(20));
    }

    @Test
    void whenItReadsAtLastItGetsEveryReplyRight() throws Exception {
        ServerBuffers.mostHeldUntilSettled(server);

        for (int i = 0; i < READS; i++) {
            Answered reply = stalled.nextReadReply(READ);
            Long offset = offsetOfCookie.remove(reply.cookie());

            assertThat(offset).as("a reply to a request still waiting for one").isNotNull();
            assertThat(reply.error()).isZero();
            assertThat(reply.data()).isEqualTo(Arrays.copyOfRange(content, (int) (long) offset, (int) (offset + READ)));
        }
        assertThat(offsetOfCookie).isEmpty();
    }
}
