package dev.sprig.nbd.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.server.Extents;
import dev.sprig.nbd.server.MemoryDisk;
import dev.sprig.nbd.server.NbdServer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The one NBD client, blocking and on an event loop, against the shared server and an in-memory disk. */
class NbdClientTest {

    static final int SIZE = 1 << 20;

    MemoryDisk disk = new MemoryDisk(SIZE);
    NbdServer server;

    @BeforeEach
    void start() throws Exception {
        server = NbdServer.start(
                name -> name.equals("token/7") ? disk : null,
                "127.0.0.1",
                0,
                new NbdServer.Settings(2, 0, Duration.ofSeconds(2), "test-worker"));
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    @Test
    void theBlockingClientWritesReadsAndAsksForAllocation() throws IOException {
        try (NbdClient client = NbdClient.open("127.0.0.1", server.port(), "token/7")) {
            assertThat(client.sizeBytes()).isEqualTo(SIZE);
            assertThat(client.readOnly()).isFalse();
            ByteBuf data = Unpooled.buffer(8192);
            for (int i = 0; i < 8192; i++) {
                data.writeByte(i * 31);
            }
            assertThat(client.write(4096, data, 0, 8192, false)).isZero();
            assertThat(client.flush()).isZero();

            ByteBuf into = Unpooled.directBuffer(16384).writerIndex(100);
            assertThat(client.read(4096, 8192, into)).isZero();
            assertThat(into.writerIndex()).isEqualTo(100 + 8192);
            assertThat(ByteBufUtil.equals(into.slice(100, 8192), data)).isTrue();

            Extents extents = new Extents();
            assertThat(client.allocation(0, 16384, extents)).isZero();
            assertThat(extents.count()).isEqualTo(3);
            assertThat(extents.length(1)).isEqualTo(8192);
            assertThat(extents.flags(0)).isEqualTo(Nbd.STATE_HOLE | Nbd.STATE_ZERO);
            assertThat(extents.flags(1)).isZero();
        }
    }

    @Test
    void aReadPastTheEndIsTheServersErrorNotABrokenConnection() throws IOException {
        try (NbdClient client = NbdClient.open("127.0.0.1", server.port(), "token/7")) {
            ByteBuf into = Unpooled.buffer();
            assertThat(client.read(SIZE - 4096, 8192, into)).isEqualTo(Nbd.EINVAL);
            assertThat(into.writerIndex()).isZero();
            assertThat(client.read(0, 4096, into)).isZero();
        }
    }

    @Test
    void anExportTheServerDoesNotHaveIsRefusedAndTheTokenStaysOutOfTheMessage() {
        assertThatThrownBy(() -> NbdClient.open("127.0.0.1", server.port(), "secret-token/8"))
                .isInstanceOf(ExportRefusedException.class)
                .hasMessageContaining("…/8")
                .hasMessageNotContaining("secret-token");
    }

    @Test
    void requestsMadeBeforeTheHandshakeWaitAndEachReplyFindsItsRequest() throws Exception {
        for (int block = 0; block < 64; block++) {
            disk.write(block * 4096L, Unpooled.buffer(4096).writeZero(4096).setInt(0, block), false);
        }
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            EventLoop loop = group.next();
            @SuppressWarnings("unchecked")
            CompletableFuture<Integer>[] firstInts = new CompletableFuture[64];
            loop.submit(() -> {
                        NbdChannel channel =
                                NbdChannel.connect(loop, "127.0.0.1", server.port(), "token/7", Duration.ZERO);
                        for (int block = 63; block >= 0; block--) {
                            CompletableFuture<Integer> firstInt = new CompletableFuture<>();
                            firstInts[block] = firstInt;
                            channel.read(block * 4096L, 4096, new Completion<>(firstInt, data -> {
                                int value = data.getInt(data.readerIndex());
                                data.release();
                                return value;
                            }));
                        }
                    })
                    .sync();
            for (int block = 0; block < 64; block++) {
                assertThat(firstInts[block].get(10, TimeUnit.SECONDS)).isEqualTo(block);
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void aRequestToAServerThatIsNotThereHearsTheConnectionBroke() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            EventLoop loop = group.next();
            CompletableFuture<Integer> answer = new CompletableFuture<>();
            loop.submit(() -> NbdChannel.connect(loop, "127.0.0.1", closedPort, "token/7", Duration.ZERO)
                            .command(Nbd.CMD_FLUSH, 0, 0, false, new Completion<Void, Integer>(answer, unused -> 0)))
                    .sync();
            assertThatThrownBy(() -> answer.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(IOException.class);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    /** Completes a future with what a successful reply maps to, or exceptionally. */
    private record Completion<T, R>(CompletableFuture<R> future, Function<@Nullable T, R> then)
            implements NbdCallback<T> {

        @Override
        public void completed(int error, @Nullable T value) {
            if (error != 0) {
                future.completeExceptionally(new IOException("NBD error " + error));
            } else {
                future.complete(then.apply(value));
            }
        }

        @Override
        public void broken(IOException failure) {
            future.completeExceptionally(failure);
        }
    }
}
