package dev.sprig.agent;

import dev.sprig.nbd.Nbd;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A deliberately small client for the bad-input tests: it sends what well-behaved clients never
 * send (reads and writes past the end, garbage) and reads the raw replies.
 */
public final class RawNbdClient implements AutoCloseable {

    public record Reply(int error, byte[] data) {}

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private long size = -1;
    private long cookie;

    private RawNbdClient(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(30_000);
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
            if (type == Nbd.REP_ACK || type < 0) {
                return type;
            }
        }
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

    public long size() {
        return size;
    }

    public Reply read(long offset, int length) throws IOException {
        request(Nbd.CMD_READ, offset, length, new byte[0]);
        int error = replyError();
        byte[] data = new byte[error == 0 ? length : 0];
        in.readFully(data);
        return new Reply(error, data);
    }

    public int write(long offset, byte[] data) throws IOException {
        request(Nbd.CMD_WRITE, offset, data.length, data);
        return replyError();
    }

    private void request(int type, long offset, int length, byte[] payload) throws IOException {
        out.writeInt(Nbd.REQUEST_MAGIC);
        out.writeShort(0);
        out.writeShort(type);
        out.writeLong(++cookie);
        out.writeLong(offset);
        out.writeInt(length);
        out.write(payload);
        out.flush();
    }

    private int replyError() throws IOException {
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
