package dev.sprig.nbd.client;

import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.server.Extents;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.BiConsumer;
import org.jspecify.annotations.Nullable;

/**
 * An {@link NbdChannel} for a thread that waits for each answer: every call sends one request and
 * returns the server's NBD error number, 0 for success; an {@link IOException} means the connection
 * is broken and must not be reused. The connection runs on a loop shared by all blocking clients,
 * so a call costs two thread hand-offs, which is nothing next to the megabyte reads and block-status
 * scans it is used for (api-server's imports from qemu-nbd); one call at a time per client.
 */
public final class NbdClient implements AutoCloseable {

    /** Loops of every blocking client; daemon threads, started as connections need them. */
    private static final class Loops {
        static final EventLoopGroup GROUP = new MultiThreadIoEventLoopGroup(
                0, new DefaultThreadFactory("nbd-client", true), NioIoHandler.newFactory());
    }

    private final NbdChannel channel;
    private final EventLoop loop;

    private NbdClient(NbdChannel channel, EventLoop loop) {
        this.channel = channel;
        this.loop = loop;
    }

    /** Connects and opens the export with NBD_OPT_GO. */
    public static NbdClient open(String host, int port, String exportName) throws IOException {
        EventLoop loop = Loops.GROUP.next();
        NbdClient client = new NbdClient(NbdChannel.connect(loop, host, port, exportName, Duration.ZERO), loop);
        try {
            Future<NbdChannel> ready = client.channel.ready();
            if (!ready.await().isSuccess()) {
                throw NbdChannel.asIo(ready.cause(), host + ":" + port);
            }
            return client;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            client.close();
            throw new InterruptedIOException("interrupted opening an export of " + host + ":" + port);
        } catch (IOException | RuntimeException failure) {
            client.close();
            throw failure;
        }
    }

    /** The export's size, as the server announced it. */
    public long sizeBytes() {
        return channel.sizeBytes();
    }

    public boolean readOnly() {
        return (channel.transmissionFlags() & Nbd.TFLAG_READ_ONLY) != 0;
    }

    /** Reads {@code length} bytes at {@code offset} into {@code into} (appended at its writer index). */
    public int read(long offset, int length, ByteBuf into) throws IOException {
        Answer<ByteBuf> answer = call((node, callback) -> node.read(offset, length, callback));
        ByteBuf data = answer.value();
        if (answer.error() != 0 || data == null) {
            return answer.error();
        }
        try {
            int copied = Math.min(length, data.readableBytes());
            into.writeBytes(data, data.readerIndex(), copied).writeZero(length - copied);
        } finally {
            data.release();
        }
        return 0;
    }

    /**
     * Adds the server's base:allocation extents of a range to {@code into}; a server that offered no
     * block status has the range reported as allocated, which the protocol allows.
     */
    public int allocation(long offset, long length, Extents into) throws IOException {
        Answer<Extents> answer = call((node, callback) -> node.allocation(offset, length, callback));
        Extents extents = answer.value();
        if (answer.error() == 0 && extents != null) {
            for (int i = 0; i < extents.count(); i++) {
                into.add(extents.length(i), extents.flags(i));
            }
        }
        return answer.error();
    }

    public int write(long offset, ByteBuf data, int index, int length, boolean fua) throws IOException {
        ByteBuf payload = data.retainedSlice(index, length);
        return this.<Void>call((node, callback) -> node.write(offset, payload, fua, callback))
                .error();
    }

    public int trim(long offset, long length, boolean fua) throws IOException {
        return this.<Void>call((node, callback) -> node.command(Nbd.CMD_TRIM, offset, length, fua, callback))
                .error();
    }

    public int writeZeroes(long offset, long length, boolean fua) throws IOException {
        return this.<Void>call((node, callback) -> node.command(Nbd.CMD_WRITE_ZEROES, offset, length, fua, callback))
                .error();
    }

    public int flush() throws IOException {
        return this.<Void>call((node, callback) -> node.command(Nbd.CMD_FLUSH, 0, 0, false, callback))
                .error();
    }

    private record Answer<T>(int error, @Nullable T value) {}

    /** Sends a request from the connection's loop and waits for its answer. */
    private <T> Answer<T> call(BiConsumer<NbdChannel, NbdCallback<T>> request) throws IOException {
        CompletableFuture<Answer<T>> answer = new CompletableFuture<>();
        loop.execute(() -> request.accept(channel, new NbdCallback<>() {
            @Override
            public void completed(int error, @Nullable T value) {
                if (!answer.complete(new Answer<>(error, value))) {
                    release(value); // the caller gave up waiting
                }
            }

            @Override
            public void broken(IOException failure) {
                answer.completeExceptionally(failure);
            }
        }));
        try {
            return answer.get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            if (!answer.cancel(false) && !answer.isCompletedExceptionally()) {
                release(answer.join().value());
            }
            throw new InterruptedIOException("interrupted waiting for " + channel);
        }
    }

    private static void release(@Nullable Object value) {
        if (value instanceof ByteBuf data) {
            data.release();
        }
    }

    @Override
    public void close() {
        channel.channel().close().awaitUninterruptibly();
    }
}
