package dev.sprig.nbd.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.server.RawNbdClient.Extent;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The shared NBD server against an in-memory disk: handshake, structured replies, block status. */
class NbdServerTest {

    static final int SIZE = 1 << 20;
    static final int ZERO_HOLE = Nbd.STATE_HOLE | Nbd.STATE_ZERO;

    NbdServer server;
    MemoryDisk disk = new MemoryDisk(SIZE);

    @BeforeEach
    void start() throws Exception {
        NbdExports exports = new NbdExports() {
            @Override
            public @Nullable NbdDisk open(String name) throws IOException, InterruptedException {
                return switch (name) {
                    case "disk-1" -> disk;
                    case "disk-slow" -> {
                        Thread.sleep(500); // long enough for the client to hang up meanwhile
                        yield disk;
                    }
                    case "disk-unreachable" -> throw new IOException("api-server is down");
                    default -> null;
                };
            }

            @Override
            public List<String> list() {
                return List.of("disk-1", "disk-2");
            }

            @Override
            public boolean servesAllocationDepth() {
                return true;
            }
        };
        server = NbdServer.start(
                exports, "127.0.0.1", 0, new NbdServer.Settings(2, 0, Duration.ofSeconds(2), "test-worker"));
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    RawNbdClient connect() throws IOException {
        return RawNbdClient.connect("127.0.0.1", server.port());
    }

    @Nested
    class Handshake {

        @Test
        void infoThenGoOnOneConnectionOpensTheDisk() throws Exception {
            try (RawNbdClient client = connect()) {
                assertThat(client.option(Nbd.OPT_INFO, "disk-1")).isEqualTo(Nbd.REP_ACK);
                assertThat(client.size()).isEqualTo(SIZE);

                assertThat(client.option(Nbd.OPT_GO, "disk-1")).isEqualTo(Nbd.REP_ACK);
                assertThat(client.read(0, 512).error()).isZero();
            }
        }

        @Test
        void anUnknownExportIsRefusedAndTheClientMayTryAnother() throws Exception {
            try (RawNbdClient client = connect()) {
                assertThat(client.option(Nbd.OPT_GO, "disk-3")).isEqualTo(Nbd.REP_ERR_UNKNOWN);

                assertThat(client.option(Nbd.OPT_GO, "disk-1")).isEqualTo(Nbd.REP_ACK);
            }
        }

        @Test
        void anExportThatCannotBeLookedUpIsRefusedAsShutdownNotUnknown() throws Exception {
            try (RawNbdClient client = connect()) {
                assertThat(client.option(Nbd.OPT_GO, "disk-unreachable")).isEqualTo(Nbd.REP_ERR_SHUTDOWN);
            }
        }

        @Test
        void listingNamesTheExports() throws Exception {
            try (RawNbdClient client = connect()) {
                assertThat(client.rawOption(Nbd.OPT_LIST, new byte[0])).isEqualTo(Nbd.REP_ACK);
                assertThat(client.names()).containsExactly("disk-1", "disk-2");
            }
        }

        @Test
        void aListWithDataIsInvalid() throws Exception {
            try (RawNbdClient client = connect()) {
                assertThat(client.rawOption(Nbd.OPT_LIST, new byte[] {1})).isEqualTo(Nbd.REP_ERR_INVALID);
            }
        }

        @Test
        void anUnknownOptionIsUnsupportedAndTheHandshakeGoesOn() throws Exception {
            try (RawNbdClient client = connect()) {
                assertThat(client.option(11, "")).as("NBD_OPT_EXTENDED_HEADERS").isEqualTo(Nbd.REP_ERR_UNSUP);

                assertThat(client.option(Nbd.OPT_GO, "disk-1")).isEqualTo(Nbd.REP_ACK);
            }
        }

        @Test
        void garbageInPlaceOfAnOptionEndsThatConnectionOnly() throws Exception {
            try (RawNbdClient bad = connect()) {
                bad.send("GET / HTTP/1.1\r\nHost: agent\r\n\r\n".getBytes(StandardCharsets.US_ASCII));

                assertThat(bad.closedByServer()).isTrue();
            }
            try (RawNbdClient good = RawNbdClient.open("127.0.0.1", server.port(), "disk-1")) {
                assertThat(good.size()).isEqualTo(SIZE);
            }
        }

        @Test
        void aClientThatNeverFinishesItsHandshakeIsDisconnected() throws Exception {
            try (RawNbdClient idle = connect()) {
                long start = System.nanoTime();

                assertThat(idle.closedByServer()).isTrue();
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
            }
        }

        @Test
        void anExportIsReleasedOnceWhenOnlyAskedAboutAndOnceWhenItsConnectionEnds() throws Exception {
            try (RawNbdClient client = connect()) {
                assertThat(client.option(Nbd.OPT_INFO, "disk-1")).isEqualTo(Nbd.REP_ACK);
                assertThat(disk.releases.get()).isEqualTo(1);

                assertThat(client.option(Nbd.OPT_GO, "disk-1")).isEqualTo(Nbd.REP_ACK);
                assertThat(client.read(0, 512).error()).isZero();
                assertThat(disk.releases.get()).isEqualTo(1);
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (disk.releases.get() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(disk.releases.get()).isEqualTo(2);
            Thread.sleep(100);
            assertThat(disk.releases.get()).isEqualTo(2);
        }

        @Test
        void anExportOpenedForAClientThatHungUpMeanwhileIsReleased() throws Exception {
            try (RawNbdClient client = connect()) {
                byte[] name = "disk-slow".getBytes(java.nio.charset.StandardCharsets.UTF_8);
                java.nio.ByteBuffer go = java.nio.ByteBuffer.allocate(8 + 4 + 4 + 4 + name.length + 2);
                go.putLong(Nbd.IHAVEOPT).putInt(Nbd.OPT_GO).putInt(4 + name.length + 2);
                go.putInt(name.length).put(name).putShort((short) 0);
                client.send(go.array());
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (disk.releases.get() < 1 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(disk.releases.get()).isEqualTo(1);
        }

        @Test
        void anOpenedExportOutlivesTheHandshakeTimeout() throws Exception {
            try (RawNbdClient client = RawNbdClient.open("127.0.0.1", server.port(), "disk-1")) {
                Thread.sleep(2_500);

                assertThat(client.read(0, 4096).error()).isZero();
            }
        }
    }

    @Test
    void requestsOfNoBytesAreAnsweredWithSimpleReplies() throws Exception {
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", server.port(), "disk-1")) {
            assertThat(client.read(4096, 0)).satisfies(read -> {
                assertThat(read.error()).isZero();
                assertThat(read.data()).isEmpty();
            });
            assertThat(client.write(SIZE, new byte[0]))
                    .as("nothing, at the very end")
                    .isZero();
            assertThat(client.command(Nbd.CMD_TRIM, 0, 0)).isZero();
            assertThat(client.read(SIZE + 4096L, 0).error())
                    .as("still outside the disk")
                    .isEqualTo(Nbd.EINVAL);
            assertThat(client.read(0, 4096).error())
                    .as("the connection goes on")
                    .isZero();
        }
    }

    @Nested
    class StructuredReplies {

        @Test
        void metadataContextsNeedStructuredRepliesFirst() throws Exception {
            try (RawNbdClient client = connect()) {
                assertThat(client.metaContext(Nbd.OPT_SET_META_CONTEXT, "disk-1", Nbd.BASE_ALLOCATION))
                        .isEqualTo(Nbd.REP_ERR_INVALID);
            }
        }

        @Test
        void baseAllocationIsListedAndSelected() throws Exception {
            try (RawNbdClient client = connect()) {
                assertThat(client.structuredReplies()).isEqualTo(Nbd.REP_ACK);

                assertThat(client.metaContext(Nbd.OPT_LIST_META_CONTEXT, "disk-1"))
                        .isEqualTo(Nbd.REP_ACK);
                assertThat(client.names()).containsExactly("0:base:allocation", "0:qemu:allocation-depth");
                assertThat(client.metaContext(Nbd.OPT_LIST_META_CONTEXT, "disk-1", "base:"))
                        .isEqualTo(Nbd.REP_ACK);
                assertThat(client.names()).containsExactly("0:base:allocation");
                assertThat(client.metaContext(Nbd.OPT_SET_META_CONTEXT, "disk-1", "qemu:dirty-bitmap:x"))
                        .isEqualTo(Nbd.REP_ACK);
                assertThat(client.names()).isEmpty();
                assertThat(client.metaContext(Nbd.OPT_SET_META_CONTEXT, "disk-1", Nbd.BASE_ALLOCATION))
                        .isEqualTo(Nbd.REP_ACK);
                assertThat(client.names()).containsExactly(Nbd.BASE_ALLOCATION_ID + ":base:allocation");
            }
        }

        @Test
        void allocationDepthIsListedForItsNamespaceAndSelectedBesideBaseAllocation() throws Exception {
            try (RawNbdClient client = connect()) {
                assertThat(client.structuredReplies()).isEqualTo(Nbd.REP_ACK);

                assertThat(client.metaContext(Nbd.OPT_LIST_META_CONTEXT, "disk-1", "qemu:"))
                        .isEqualTo(Nbd.REP_ACK);
                assertThat(client.names()).containsExactly("0:qemu:allocation-depth");
                assertThat(client.metaContext(
                                Nbd.OPT_SET_META_CONTEXT, "disk-1", Nbd.ALLOCATION_DEPTH, Nbd.BASE_ALLOCATION))
                        .isEqualTo(Nbd.REP_ACK);
                assertThat(client.names())
                        .containsExactly(
                                Nbd.BASE_ALLOCATION_ID + ":base:allocation",
                                Nbd.ALLOCATION_DEPTH_ID + ":qemu:allocation-depth");
            }
        }

        @Test
        void blockStatusAnswersEachSelectedContext() throws Exception {
            try (RawNbdClient client = connect()) {
                client.structuredReplies();
                client.metaContext(Nbd.OPT_SET_META_CONTEXT, "disk-1", Nbd.BASE_ALLOCATION, Nbd.ALLOCATION_DEPTH);
                client.option(Nbd.OPT_GO, "disk-1");
                assertThat(client.write(8192, new byte[4096])).isZero();

                RawNbdClient.Status status = client.blockStatus(0, 65536, 0);

                assertThat(status.error()).isZero();
                assertThat(status.byContext())
                        .containsOnlyKeys(Nbd.BASE_ALLOCATION_ID, Nbd.ALLOCATION_DEPTH_ID)
                        .containsEntry(
                                Nbd.BASE_ALLOCATION_ID,
                                List.of(new Extent(8192, ZERO_HOLE), new Extent(4096, 0), new Extent(53248, ZERO_HOLE)))
                        .containsEntry(Nbd.ALLOCATION_DEPTH_ID, List.of(new Extent(65536, 1)));
            }
        }

        @Test
        void readsComeBackAsDataChunksAndErrorsAsErrorChunks() throws Exception {
            byte[] pattern = new byte[8192];
            Arrays.fill(pattern, (byte) 0x5a);
            try (RawNbdClient client = openStructured(false)) {
                assertThat(client.write(4096, pattern)).isZero();

                assertThat(client.read(4096, 8192).data()).isEqualTo(pattern);
                assertThat(client.read(SIZE - 512, 1024).error()).isEqualTo(Nbd.EINVAL);
                assertThat(client.write(SIZE, pattern)).isEqualTo(Nbd.ENOSPC);
            }
        }

        @Test
        void requestsOfNoBytesAreAnsweredWithoutData() throws Exception {
            try (RawNbdClient client = openStructured(false)) {
                RawNbdClient.Reply read = client.read(4096, 0);

                assertThat(read.error()).isZero();
                assertThat(client.chunkTypes())
                        .as("a data chunk must carry at least one byte: nothing is a NONE chunk")
                        .containsExactly(Nbd.REPLY_TYPE_NONE);
                assertThat(client.write(4096, new byte[0])).isZero();
                assertThat(client.command(Nbd.CMD_TRIM, 4096, 0)).isZero();
                assertThat(client.command(Nbd.CMD_WRITE_ZEROES, 4096, 0)).isZero();
                assertThat(client.read(0, 4096).error())
                        .as("the connection goes on")
                        .isZero();
            }
        }

        @Test
        void blockStatusWithoutANegotiatedContextIsInvalid() throws Exception {
            try (RawNbdClient client = openStructured(false)) {
                assertThat(client.blockStatus(0, 4096, 0).error()).isEqualTo(Nbd.EINVAL);
            }
        }

        @Test
        void blockStatusSeparatesWrittenBlocksFromZeroHoles() throws Exception {
            try (RawNbdClient client = openStructured(true)) {
                assertThat(client.write(8192, new byte[4096])).isZero();

                RawNbdClient.Status status = client.blockStatus(0, 65536, 0);

                assertThat(status.error()).isZero();
                assertThat(status.contextId()).isEqualTo(Nbd.BASE_ALLOCATION_ID);
                assertThat(status.extents())
                        .containsExactly(
                                new Extent(8192, ZERO_HOLE), new Extent(4096, 0), new Extent(65536 - 12288, ZERO_HOLE));
            }
        }

        @Test
        void reqOneAnswersOneExtentWithinTheRange() throws Exception {
            try (RawNbdClient client = openStructured(true)) {
                assertThat(client.write(8192, new byte[4096])).isZero();

                assertThat(client.blockStatus(0, 65536, Nbd.CMD_FLAG_REQ_ONE).extents())
                        .containsExactly(new Extent(8192, ZERO_HOLE));
                assertThat(client.blockStatus(9000, 1000, Nbd.CMD_FLAG_REQ_ONE).extents())
                        .containsExactly(new Extent(1000, 0));
            }
        }

        @Test
        void blockStatusOutsideTheDiskIsInvalid() throws Exception {
            try (RawNbdClient client = openStructured(true)) {
                assertThat(client.blockStatus(SIZE, 4096, 0).error()).isEqualTo(Nbd.EINVAL);
                assertThat(client.blockStatus(0, 0, 0).error()).isEqualTo(Nbd.EINVAL);
            }
        }

        private RawNbdClient openStructured(boolean baseAllocation) throws IOException {
            RawNbdClient client = connect();
            assertThat(client.structuredReplies()).isEqualTo(Nbd.REP_ACK);
            if (baseAllocation) {
                assertThat(client.metaContext(Nbd.OPT_SET_META_CONTEXT, "disk-1", Nbd.BASE_ALLOCATION))
                        .isEqualTo(Nbd.REP_ACK);
            }
            assertThat(client.option(Nbd.OPT_GO, "disk-1")).isEqualTo(Nbd.REP_ACK);
            return client;
        }
    }
}
