package dev.sprig.engine.powerloss;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import org.jspecify.annotations.Nullable;

/**
 * A channel of a {@link PowerLossFileSystem}: reads go straight to the real file (what the page
 * cache holds), every change goes through the file system's model, which remembers how to undo it
 * until the next {@link #force}. A channel on the directory itself has no file: its {@code force}
 * makes the directory's entries durable.
 */
final class PowerLossChannel extends FileChannel {

    private final PowerLossFileSystem fileSystem;
    /** The file this channel writes, or null for a channel on the directory. */
    private final PowerLossFileSystem.@Nullable Inode inode;

    private final FileChannel real;

    PowerLossChannel(PowerLossFileSystem fileSystem, PowerLossFileSystem.@Nullable Inode inode, FileChannel real) {
        this.fileSystem = fileSystem;
        this.inode = inode;
        this.real = real;
    }

    private PowerLossFileSystem.Inode file() {
        if (inode == null) {
            throw new UnsupportedOperationException("a channel on the directory writes nothing");
        }
        return inode;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        fileSystem.checkOn();
        return real.read(dst);
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        fileSystem.checkOn();
        return real.read(dsts, offset, length);
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
        fileSystem.checkOn();
        return real.read(dst, position);
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        return fileSystem.write(file(), real, src, -1);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        long written = 0;
        for (int i = offset; i < offset + length; i++) {
            int want = srcs[i].remaining();
            int n = write(srcs[i]);
            written += n;
            if (n < want) {
                break;
            }
        }
        return written;
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
        return fileSystem.write(file(), real, src, position);
    }

    @Override
    public long position() throws IOException {
        return real.position();
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
        real.position(newPosition);
        return this;
    }

    @Override
    public long size() throws IOException {
        fileSystem.checkOn();
        return real.size();
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
        fileSystem.truncate(file(), real, size);
        return this;
    }

    @Override
    public void force(boolean metaData) throws IOException {
        fileSystem.force(inode);
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target) {
        throw new UnsupportedOperationException("transferTo is not modelled by the power-loss file system");
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) {
        throw new UnsupportedOperationException("transferFrom is not modelled by the power-loss file system");
    }

    /** Read-only mappings only: a write through a mapping would bypass the model. */
    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
        if (mode != MapMode.READ_ONLY) {
            throw new UnsupportedOperationException("only read-only mappings are modelled, not " + mode);
        }
        fileSystem.checkOn();
        return real.map(mode, position, size);
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
        fileSystem.checkOn();
        return real.lock(position, size, shared);
    }

    @Override
    public @Nullable FileLock tryLock(long position, long size, boolean shared) throws IOException {
        fileSystem.checkOn();
        return real.tryLock(position, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
        real.close();
    }
}
