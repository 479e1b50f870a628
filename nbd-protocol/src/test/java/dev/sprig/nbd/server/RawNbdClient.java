package dev.sprig.nbd.server;

import dev.sprig.nbd.Nbd;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A deliberately small client for the bad-input tests: it sends what well-behaved clients never
 * send (reads and writes past the end, garbage) and reads the raw replies.
 */
public final class RawNbdClient implements AutoCloseable {

    public record Reply(int error, byte[] data) {}

    public record Extent(long length, int flags) {}

    /**
     * A block-status answer: its error, the id of its last context and that context's extents, and
     * the extents of every context by id.
     */
    public record Status(
            int error, int contextId, List<Extent> extents, java.util.Map<Integer, List<Extent>> byContext) {}

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private long size = -1;
    private long cookie;
    private boolean structured;
    private final List<String> names = new ArrayList<>();
    private final List<Integer> chunkTypes = new ArrayList<>();

    private RawNbdClient(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(30_000);
        socket.setTcpNoDelay(true); // a request is several small writes: none may wait for an ACK
        in = new DataInputStream(socket.getInputStream());
        out = new DataOutputStream(socket.getOutputStream());
        if (in.readLong() != Nbd.NBDMAGIC || in.readLong() != Nbd.IHAVEOPT) {
            throw new IOException("not an NBD server");
        }
        in.readUnsignedShort();
        out.writeInt(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES);
    }

    /** Connected, before any option. */
    public static RawNbdClient connect(String host, int port) throws IOException {
        return new RawNbdClient(new Socket(host, port));
    }

    /** Connected with the export open (NBD_OPT_GO succeeded). */
    public static RawNbdClient open(String host, int port, String export) throws IOException {
        RawNbdClient client = connect(host, port);
        int reply = client.option(Nbd.OPT_GO, export);
        if (reply != Nbd.REP_ACK) {
            client.close();
            throw new IOException("NBD_OPT_GO answered " + Integer.toHexString(reply));
        }
        return client;
    }

    /** Sends NBD_OPT_INFO or NBD_OPT_GO; returns the last reply type (NBD_REP_ACK or an error). */
    public int option(int option, String export) throws IOException {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        java.nio.ByteBuffer data = java.nio.ByteBuffer.allocate(4 + name.length + 2);
        data.putInt(name.length).put(name).putShort((short) 0);
        return rawOption(option, data.array());
    }

    /** Sends any option with any data; returns the last reply type (NBD_REP_ACK or an error). */
    public int rawOption(int option, byte[] data) throws IOException {
        names.clear();
        out.writeLong(Nbd.IHAVEOPT);
        out.writeInt(option);
        out.writeInt(data.length);
        out.write(data);
        out.flush();
        while (true) {
            in.readLong();
            in.readInt();
            int type = in.readInt();
            byte[] reply = new byte[in.readInt()];
            in.readFully(reply);
            if (type == Nbd.REP_INFO && reply.length == 12 && reply[0] == 0 && reply[1] == Nbd.INFO_EXPORT) {
                size = java.nio.ByteBuffer.wrap(reply, 2, 8).getLong();
            }
            if (type == Nbd.REP_SERVER) {
                names.add(new String(reply, 4, reply.length - 4, StandardCharsets.UTF_8));
            }
            if (type == Nbd.REP_META_CONTEXT) {
                names.add(java.nio.ByteBuffer.wrap(reply).getInt() + ":"
                        + new String(reply, 4, reply.length - 4, StandardCharsets.UTF_8));
            }
            if (type == Nbd.REP_ACK || type < 0) {
                return type;
            }
        }
    }

    /**
     * What the last option answered besides its ACK: export names for NBD_OPT_LIST, and
     * {@code id:name} of each metadata context for the META_CONTEXT options.
     */
    public List<String> names() {
        return List.copyOf(names);
    }

    /** Asks for structured replies; returns the reply type. */
    public int structuredReplies() throws IOException {
        int reply = rawOption(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
        structured = reply == Nbd.REP_ACK;
        return reply;
    }

    /** Sends NBD_OPT_SET_META_CONTEXT or NBD_OPT_LIST_META_CONTEXT with these queries. */
    public int metaContext(int option, String export, String... queries) throws IOException {
        var data = new java.io.ByteArrayOutputStream();
        var fields = new DataOutputStream(data);
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        fields.writeInt(name.length);
        fields.write(name);
        fields.writeInt(queries.length);
        for (String query : queries) {
            byte[] bytes = query.getBytes(StandardCharsets.UTF_8);
            fields.writeInt(bytes.length);
            fields.write(bytes);
        }
        return rawOption(option, data.toByteArray());
    }

    /** Sends raw bytes, e.g. garbage in place of an option. */
    public void send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** True once the server has closed the connection. */
    public boolean closedByServer() throws IOException {
        try {
            return in.read() < 0;
        } catch (java.net.SocketException reset) {
            return true;
        }
    }

    /** The types of the chunks of the last structured reply; none after a simple reply. */
    public List<Integer> chunkTypes() {
        return List.copyOf(chunkTypes);
    }

    public long size() {
        return size;
    }

    public Reply read(long offset, int length) throws IOException {
        request(Nbd.CMD_READ, 0, offset, length, new byte[0]);
        if (structured) {
            byte[] data = new byte[length];
            int error = chunks(offset, data, null);
            return new Reply(error, error == 0 ? data : new byte[0]);
        }
        int error = replyError();
        byte[] data = new byte[error == 0 ? length : 0];
        in.readFully(data);
        return new Reply(error, data);
    }

    /** A reply to one of several reads in flight, whichever came next. */
    public record Answered(long cookie, int error, byte[] data) {}

    /** Sends a read without waiting for its reply, to have many in flight; returns its cookie. */
    public long sendRead(long offset, int length) throws IOException {
        request(Nbd.CMD_READ, 0, offset, length, new byte[0]);
        return cookie;
    }

    /** The next simple reply to a read of {@code length} bytes sent with {@link #sendRead}. */
    public Answered nextReadReply(int length) throws IOException {
        if (in.readInt() != Nbd.SIMPLE_REPLY_MAGIC) {
            throw new IOException("bad reply magic (pipelined reads need simple replies)");
        }
        int error = in.readInt();
        long answered = in.readLong();
        byte[] data = new byte[error == 0 ? length : 0];
        in.readFully(data);
        return new Answered(answered, error, data);
    }

    public int write(long offset, byte[] data) throws IOException {
        return write(offset, data, 0);
    }

    /** NBD_CMD_WRITE with {@code flags} such as NBD_CMD_FLAG_FUA. */
    public int write(long offset, byte[] data, int flags) throws IOException {
        request(Nbd.CMD_WRITE, flags, offset, data.length, data);
        return replyError();
    }

    /** Any command without a payload (also one the protocol does not have); returns its error. */
    public int command(int type, long offset, int length) throws IOException {
        request(type, 0, offset, length, new byte[0]);
        return replyError();
    }

    /** NBD_CMD_BLOCK_STATUS, with {@code flags} such as NBD_CMD_FLAG_REQ_ONE. */
    public Status blockStatus(long offset, int length, int flags) throws IOException {
        request(Nbd.CMD_BLOCK_STATUS, flags, offset, length, new byte[0]);
        var byContext = new java.util.LinkedHashMap<Integer, List<Extent>>();
        int[] context = {0};
        int error = chunks(offset, null, (id, extent) -> {
            context[0] = id;
            byContext.computeIfAbsent(id, any -> new ArrayList<>()).add(extent);
        });
        return new Status(error, context[0], byContext.getOrDefault(context[0], List.of()), byContext);
    }

    private interface ExtentSink {
        void accept(int contextId, Extent extent);
    }

    /** Reads a structured reply's chunks up to the one flagged done; returns its error, 0 if none. */
    private int chunks(long offset, byte[] data, ExtentSink extents) throws IOException {
        chunkTypes.clear();
        int error = 0;
        boolean done = false;
        while (!done) {
            int magic = in.readInt();
            if (magic == Nbd.SIMPLE_REPLY_MAGIC) { // allowed for anything but reads
                error = in.readInt();
                checkCookie();
                return error;
            }
            if (magic != Nbd.STRUCTURED_REPLY_MAGIC) {
                throw new IOException("bad reply magic " + Integer.toHexString(magic));
            }
            done = (in.readUnsignedShort() & Nbd.REPLY_FLAG_DONE) != 0;
            int type = in.readUnsignedShort();
            checkCookie();
            int length = in.readInt();
            chunkTypes.add(type);
            if (type == Nbd.REPLY_TYPE_OFFSET_DATA && length < 9) {
                throw new IOException("a data chunk of " + length + " bytes (the protocol says at least 9)");
            }
            switch (type) {
                case Nbd.REPLY_TYPE_NONE -> {}
                case Nbd.REPLY_TYPE_OFFSET_DATA -> {
                    long at = in.readLong();
                    in.readFully(data, (int) (at - offset), length - 8);
                }
                case Nbd.REPLY_TYPE_BLOCK_STATUS -> {
                    int id = in.readInt();
                    for (int i = 0; i < (length - 4) / 8; i++) {
                        extents.accept(id, new Extent(in.readInt() & 0xffffffffL, in.readInt()));
                    }
                }
                case Nbd.REPLY_TYPE_ERROR -> {
                    error = in.readInt();
                    in.skipNBytes(length - 4);
                }
                default -> throw new IOException("unexpected chunk type " + type);
            }
        }
        return error;
    }

    private void checkCookie() throws IOException {
        if (in.readLong() != cookie) {
            throw new IOException("reply for another request");
        }
    }

    private void request(int type, int flags, long offset, int length, byte[] payload) throws IOException {
        out.writeInt(Nbd.REQUEST_MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(++cookie);
        out.writeLong(offset);
        out.writeInt(length);
        out.write(payload);
        out.flush();
    }

    private int replyError() throws IOException {
        if (structured) {
            return chunks(0, null, null);
        }
        if (in.readInt() != Nbd.SIMPLE_REPLY_MAGIC) {
            throw new IOException("bad reply magic");
        }
        int error = in.readInt();
        if (in.readLong() != cookie) {
            throw new IOException("reply for another request");
        }
        return error;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
