package dev.sprig.node.nbd;

import dev.sprig.nbd.Nbd;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A deliberately small client for the bad-input tests: it sends what well-behaved clients never
 * send (oversized requests, reads past the end, garbage) and reads the raw replies.
 */
final class RawNbdClient implements AutoCloseable {

    final Socket socket;
    final DataInputStream in;
    final DataOutputStream out;

    RawNbdClient(int port) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(10_000);
        in = new DataInputStream(socket.getInputStream());
        out = new DataOutputStream(socket.getOutputStream());
        if (in.readLong() != Nbd.NBDMAGIC || in.readLong() != Nbd.IHAVEOPT) {
            throw new IOException("not an NBD server");
        }
        in.readUnsignedShort();
        out.writeInt(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES);
    }

    /** NBD_OPT_GO; returns the reply type of the first reply (NBD_REP_INFO on success). */
    int go(String exportName) throws IOException {
        byte[] name = exportName.getBytes(StandardCharsets.UTF_8);
        out.writeLong(Nbd.IHAVEOPT);
        out.writeInt(Nbd.OPT_GO);
        out.writeInt(4 + name.length + 2);
        out.writeInt(name.length);
        out.write(name);
        out.writeShort(0);
        out.flush();
        int first = 0;
        while (true) {
            in.readLong();
            in.readInt();
            int type = in.readInt();
            int length = in.readInt();
            in.skipNBytes(length);
            if (first == 0) {
                first = type;
            }
            if (type == Nbd.REP_ACK || type < 0) {
                return first;
            }
        }
    }

    void request(int type, long cookie, long offset, int length, byte[] payload) throws IOException {
        out.writeInt(Nbd.REQUEST_MAGIC);
        out.writeShort(0);
        out.writeShort(type);
        out.writeLong(cookie);
        out.writeLong(offset);
        out.writeInt(length);
        out.write(payload);
        out.flush();
    }

    /** Reads a simple reply header; returns the error and checks the cookie. */
    int replyError(long cookie) throws IOException {
        if (in.readInt() != Nbd.SIMPLE_REPLY_MAGIC) {
            throw new IOException("bad reply magic");
        }
        int error = in.readInt();
        long got = in.readLong();
        if (got != cookie) {
            throw new IOException("reply for cookie " + got + ", expected " + cookie);
        }
        return error;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
