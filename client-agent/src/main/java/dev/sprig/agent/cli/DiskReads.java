package dev.sprig.agent.cli;

import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.NbdRequest;
import dev.sprig.nbd.server.AsyncNbdDisk;
import dev.sprig.nbd.server.Extents;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** Reads a disk the way {@code serve} does, one request at a time, for commands that copy it out. */
final class DiskReads implements AutoCloseable {

    private final AsyncNbdDisk disk;
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final EventLoop loop = group.next();
    private long cookie;

    DiskReads(AsyncNbdDisk disk) {
        this.disk = disk;
    }

    /** The bytes at {@code offset}; the caller releases them. */
    ByteBuf read(long offset, int length) throws IOException, InterruptedException {
        CompletableFuture<ByteBuf> read = new CompletableFuture<>();
        NbdRequest request = new NbdRequest(0, Nbd.CMD_READ, ++cookie, offset, length, null, 0);
        loop.execute(() -> disk.serve(request, loop, new AsyncNbdDisk.Answer() {
            @Override
            public void ok() {
                read.completeExceptionally(new IOException("a read answered without data"));
            }

            @Override
            public void data(ByteBuf bytes) {
                read.complete(bytes);
            }

            @Override
            public void extents(Extents extents) {
                read.completeExceptionally(new IOException("a read answered with extents"));
            }

            @Override
            public void error(int error, String message) {
                read.completeExceptionally(
                        new IOException("read at " + offset + " failed with NBD error " + error + ": " + message));
            }
        }));
        try {
            return read.get();
        } catch (ExecutionException failed) {
            throw failed.getCause() instanceof IOException io ? io : new IOException(failed.getCause());
        }
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
