package dev.sprig.nbd.client;

import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.server.Extents;
import io.netty.buffer.ByteBuf;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A blocking NBD client on one TCP connection, one request at a time (the client-agent pools them
 * and gives each in-flight request its own, which is how many requests reach a node at once).
 * Every call returns the server's NBD error number, 0 for success; an {@link IOException} means the
 * connection is broken and must not be reused.
 */
public final class NbdClient implements AutoCloseable {

    private final Socket socket;
    private final DataInputStream in;
    /** Larger than the stream's buffer, so that reads into it go straight to the socket. */
    private final byte[] scratch;

    private final DataOutputStream out;
    private long cookie;
    private boolean structured;
    /** Whether the server offered base:allocation; its id may be 0 (qemu-nbd's is). */
    private boolean allocationOffered;

    private long sizeBytes = -1;
    private int transmissionFlags;

    private NbdClient(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 64 << 10));
        this.scratch = new byte[1 << 20];
        this.out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 64 << 10));
    }

    /** Connects and opens the export with NBD_OPT_GO. */
    public static NbdClient open(String host, int port, String exportName) throws IOException {
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(host, port), 10_000);
            NbdClient connection = new NbdClient(socket);
            connection.handshake(host + ":" + port, exportName);
            return connection;
        } catch (IOException | RuntimeException failure) {
            socket.close();
            throw failure;
        }
    }

    /**
     * Asks for structured replies and base:allocation, then opens the export, all in one round
     * trip. A node that refuses the first two is still served, with simple replies and no block status.
     */
    private void handshake(String server, String exportName) throws IOException {
        if (in.readLong() != Nbd.NBDMAGIC || in.readLong() != Nbd.IHAVEOPT) {
            throw new IOException(server + " is not a newstyle NBD server");
        }
        int serverFlags = in.readUnsignedShort();
        if ((serverFlags & Nbd.FLAG_FIXED_NEWSTYLE) == 0) {
            throw new IOException(server + " does not speak fixed newstyle");
        }
        out.writeInt(Nbd.FLAG_C_FIXED_NEWSTYLE | (serverFlags & Nbd.FLAG_NO_ZEROES));
        byte[] name = exportName.getBytes(StandardCharsets.UTF_8);
        byte[] context = Nbd.BASE_ALLOCATION.getBytes(StandardCharsets.US_ASCII);
        option(Nbd.OPT_STRUCTURED_REPLY, 0);
        option(Nbd.OPT_SET_META_CONTEXT, 4 + name.length + 4 + 4 + context.length);
        out.writeInt(name.length);
        out.write(name);
        out.writeInt(1);
        out.writeInt(context.length);
        out.write(context);
        option(Nbd.OPT_GO, 4 + name.length + 2);
        out.writeInt(name.length);
        out.write(name);
        out.writeShort(0);
        out.flush();
        for (int answered = 0; answered < 3; ) {
            if (in.readLong() != Nbd.OPTION_REPLY_MAGIC) {
                throw new IOException("bad option reply from " + server);
            }
            int option = in.readInt();
            int type = in.readInt();
            byte[] data = new byte[checkedLength(in.readInt())];
            in.readFully(data);
            if (type == Nbd.REP_ACK || type < 0) {
                answered++;
            }
            if (option == Nbd.OPT_STRUCTURED_REPLY) {
                structured = type == Nbd.REP_ACK;
            } else if (option == Nbd.OPT_SET_META_CONTEXT && type == Nbd.REP_META_CONTEXT && data.length >= 4) {
                allocationOffered = true;
            } else if (option == Nbd.OPT_GO
                    && type == Nbd.REP_INFO
                    && data.length >= 12
                    && data[1] == Nbd.INFO_EXPORT) {
                sizeBytes = java.nio.ByteBuffer.wrap(data, 2, 8).getLong();
                transmissionFlags = java.nio.ByteBuffer.wrap(data, 10, 2).getShort() & 0xffff;
            } else if (option == Nbd.OPT_GO && type < 0) { // error replies have the top bit set
                throw new ExportRefusedException(server, exportName, new String(data, StandardCharsets.UTF_8));
            }
        }
    }

    /** The export's size, as the server announced it. */
    public long sizeBytes() {
        return sizeBytes;
    }

    public boolean readOnly() {
        return (transmissionFlags & Nbd.TFLAG_READ_ONLY) != 0;
    }

    private void option(int option, int length) throws IOException {
        out.writeLong(Nbd.IHAVEOPT);
        out.writeInt(option);
        out.writeInt(length);
    }

    private static int checkedLength(int length) throws IOException {
        if (length < 0 || length > Nbd.MAX_OPTION_LENGTH) {
            throw new IOException("option reply of " + length + " bytes");
        }
        return length;
    }

    /** Reads {@code length} bytes at {@code offset} into {@code into} (appended at its writer index). */
    public int read(long offset, int length, ByteBuf into) throws IOException {
        long sent = send(Nbd.CMD_READ, 0, offset, length);
        into.ensureWritable(length);
        int base = into.writerIndex();
        if (!structured) {
            int error = replyError(sent);
            if (error == 0) {
                fill(into, base, length);
                into.writerIndex(base + length);
            }
            return error;
        }
        int error = 0;
        for (boolean done = false; !done; ) {
            int magic = in.readInt();
            if (magic == Nbd.SIMPLE_REPLY_MAGIC) {
                throw new IOException("simple reply to a read from " + socket.getRemoteSocketAddress());
            }
            Chunk chunk = chunkHeader(magic, sent);
            done = chunk.done();
            switch (chunk.type()) {
                case Nbd.REPLY_TYPE_OFFSET_DATA -> {
                    int at = within(in.readLong() - offset, chunk.length() - 8, length);
                    fill(into, base + at, chunk.length() - 8);
                }
                case Nbd.REPLY_TYPE_OFFSET_HOLE -> {
                    int at = within(in.readLong() - offset, 0, length);
                    int hole = in.readInt();
                    into.setZero(base + within(at, hole, length), hole);
                }
                default -> error = otherChunk(chunk, error);
            }
        }
        if (error == 0) {
            into.writerIndex(base + length);
        }
        return error;
    }

    /**
     * Adds the node's base:allocation extents of a range to {@code into}; a node that offered no
     * block status has the range reported as allocated, which the protocol allows.
     */
    public int allocation(long offset, long length, Extents into) throws IOException {
        if (!allocationOffered) {
            into.add(length, 0);
            return 0;
        }
        long sent = send(Nbd.CMD_BLOCK_STATUS, 0, offset, length);
        int error = 0;
        long covered = 0;
        for (boolean done = false; !done; ) {
            int magic = in.readInt();
            if (magic == Nbd.SIMPLE_REPLY_MAGIC) {
                error = in.readInt();
                if (in.readLong() != sent) {
                    throw new IOException("unexpected reply from " + socket.getRemoteSocketAddress());
                }
                return error;
            }
            Chunk chunk = chunkHeader(magic, sent);
            done = chunk.done();
            if (chunk.type() != Nbd.REPLY_TYPE_BLOCK_STATUS) {
                error = otherChunk(chunk, error);
                continue;
            }
            in.readInt(); // the context id: base:allocation is the only one asked for
            for (int i = 0; i < (chunk.length() - 4) / 8; i++) {
                long extent = in.readInt() & 0xffffffffL;
                int flags = in.readInt();
                long inside = Math.min(extent, length - covered);
                if (inside > 0) {
                    into.add(inside, flags);
                    covered += inside;
                }
            }
        }
        return error;
    }

    private record Chunk(boolean done, int type, int length) {}

    private Chunk chunkHeader(int magic, long expectedCookie) throws IOException {
        if (magic != Nbd.STRUCTURED_REPLY_MAGIC) {
            throw new IOException("unexpected reply from " + socket.getRemoteSocketAddress());
        }
        boolean done = (in.readUnsignedShort() & Nbd.REPLY_FLAG_DONE) != 0;
        int type = in.readUnsignedShort();
        if (in.readLong() != expectedCookie) {
            throw new IOException("reply for another request from " + socket.getRemoteSocketAddress());
        }
        int length = in.readInt();
        if (length < 0 || length > Nbd.MAX_PAYLOAD + 8) {
            throw new IOException("reply chunk of " + length + " bytes");
        }
        return new Chunk(done, type, length);
    }

    /** Reads a chunk that carries no data: an error's number is kept, anything else skipped. */
    private int otherChunk(Chunk chunk, int error) throws IOException {
        if (chunk.type() == Nbd.REPLY_TYPE_ERROR || chunk.type() == Nbd.REPLY_TYPE_ERROR_OFFSET) {
            int number = in.readInt();
            in.skipNBytes(chunk.length() - 4);
            return error != 0 ? error : (number != 0 ? number : Nbd.EIO);
        }
        in.skipNBytes(chunk.length());
        return error;
    }

    private int within(long at, long bytes, int length) throws IOException {
        if (at < 0 || at + bytes > length) {
            throw new IOException("reply chunk outside the read from " + socket.getRemoteSocketAddress());
        }
        return (int) at;
    }

    /** Fills {@code into} from the socket at {@code index}; one call reads what the socket has, not necessarily all. */
    /**
     * Reads {@code length} bytes of a reply into {@code into}. A buffer without an array goes through
     * a scratch array: Netty would otherwise allocate a temporary array of the whole remaining length
     * for every partial read of the socket, which made megabyte reads crawl.
     */
    private void fill(ByteBuf into, int index, int length) throws IOException {
        for (int done = 0; done < length; ) {
            int read;
            if (into.hasArray()) {
                read = into.setBytes(index + done, in, length - done);
            } else {
                read = in.read(scratch, 0, Math.min(scratch.length, length - done));
                if (read > 0) {
                    into.setBytes(index + done, scratch, 0, read);
                }
            }
            if (read < 0) {
                throw new java.io.EOFException("node closed the connection in the middle of a read");
            }
            done += read;
        }
    }

    public int write(long offset, ByteBuf data, int index, int length, boolean fua) throws IOException {
        header(Nbd.CMD_WRITE, fua ? Nbd.CMD_FLAG_FUA : 0, offset, length);
        data.getBytes(index, out, length);
        out.flush();
        return replyError(cookie);
    }

    public int trim(long offset, long length, boolean fua) throws IOException {
        return replyError(send(Nbd.CMD_TRIM, fua ? Nbd.CMD_FLAG_FUA : 0, offset, length));
    }

    public int writeZeroes(long offset, long length, boolean fua) throws IOException {
        return replyError(send(Nbd.CMD_WRITE_ZEROES, fua ? Nbd.CMD_FLAG_FUA : 0, offset, length));
    }

    public int flush() throws IOException {
        return replyError(send(Nbd.CMD_FLUSH, 0, 0, 0));
    }

    private long send(int type, int flags, long offset, long length) throws IOException {
        header(type, flags, offset, length);
        out.flush();
        return cookie;
    }

    private void header(int type, int flags, long offset, long length) throws IOException {
        out.writeInt(Nbd.REQUEST_MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(++cookie);
        out.writeLong(offset);
        out.writeInt((int) length);
    }

    /** A simple reply, or (structured replies negotiated) the chunks of one that carries no data. */
    private int replyError(long expectedCookie) throws IOException {
        int magic = in.readInt();
        if (magic != Nbd.SIMPLE_REPLY_MAGIC) {
            int error = 0;
            for (boolean done = false; !done; ) {
                Chunk chunk = chunkHeader(magic, expectedCookie);
                done = chunk.done();
                error = otherChunk(chunk, error);
                if (!done) {
                    magic = in.readInt();
                }
            }
            return error;
        }
        int error = in.readInt();
        long replyCookie = in.readLong();
        if (replyCookie != expectedCookie) {
            throw new IOException("unexpected reply from " + socket.getRemoteSocketAddress());
        }
        return error;
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing a connection we give up on; nothing to do
        }
    }
}
