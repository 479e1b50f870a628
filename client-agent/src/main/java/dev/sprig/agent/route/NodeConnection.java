package dev.sprig.agent.route;

import dev.sprig.nbd.Nbd;
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
 * One keep-alive NBD connection to a node's lc export, used by one request at a time (the pool
 * gives each in-flight request its own connection, which is how many requests reach a node at
 * once). Every call returns the node's NBD error number, 0 for success; an {@link IOException}
 * means the connection is broken and must not be reused.
 */
final class NodeConnection implements AutoCloseable {

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private long cookie;

    private NodeConnection(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 64 << 10));
        this.out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 64 << 10));
    }

    /** Connects and opens the export with NBD_OPT_GO. */
    static NodeConnection open(NodeExport export) throws IOException {
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(export.host(), export.port()), 10_000);
            NodeConnection connection = new NodeConnection(socket);
            connection.handshake(export);
            return connection;
        } catch (IOException | RuntimeException failure) {
            socket.close();
            throw failure;
        }
    }

    private void handshake(NodeExport export) throws IOException {
        if (in.readLong() != Nbd.NBDMAGIC || in.readLong() != Nbd.IHAVEOPT) {
            throw new IOException(export.host() + ":" + export.port() + " is not a newstyle NBD server");
        }
        int serverFlags = in.readUnsignedShort();
        if ((serverFlags & Nbd.FLAG_FIXED_NEWSTYLE) == 0) {
            throw new IOException(export.host() + ":" + export.port() + " does not speak fixed newstyle");
        }
        out.writeInt(Nbd.FLAG_C_FIXED_NEWSTYLE | (serverFlags & Nbd.FLAG_NO_ZEROES));
        byte[] name = export.name().getBytes(StandardCharsets.UTF_8);
        out.writeLong(Nbd.IHAVEOPT);
        out.writeInt(Nbd.OPT_GO);
        out.writeInt(4 + name.length + 2);
        out.writeInt(name.length);
        out.write(name);
        out.writeShort(0);
        out.flush();
        while (true) {
            if (in.readLong() != Nbd.OPTION_REPLY_MAGIC) {
                throw new IOException("bad option reply from " + export.host() + ":" + export.port());
            }
            in.readInt(); // the option echoed
            int type = in.readInt();
            byte[] data = new byte[checkedLength(in.readInt())];
            in.readFully(data);
            if (type == Nbd.REP_ACK) {
                return;
            }
            if (type < 0) { // error replies have the top bit set
                throw new NodeRefusedExportException(export, new String(data, StandardCharsets.UTF_8));
            }
        }
    }

    private static int checkedLength(int length) throws IOException {
        if (length < 0 || length > Nbd.MAX_OPTION_LENGTH) {
            throw new IOException("option reply of " + length + " bytes");
        }
        return length;
    }

    /** Reads {@code length} bytes at {@code offset} into {@code into} (appended at its writer index). */
    int read(long offset, int length, ByteBuf into) throws IOException {
        long sent = send(Nbd.CMD_READ, 0, offset, length);
        int error = replyError(sent);
        if (error == 0) {
            // one writeBytes reads what the socket has, not necessarily all of it
            for (int left = length; left > 0; ) {
                int read = into.writeBytes(in, left);
                if (read < 0) {
                    throw new java.io.EOFException("node closed the connection in the middle of a read");
                }
                left -= read;
            }
        }
        return error;
    }

    int write(long offset, ByteBuf data, int index, int length, boolean fua) throws IOException {
        header(Nbd.CMD_WRITE, fua ? Nbd.CMD_FLAG_FUA : 0, offset, length);
        data.getBytes(index, out, length);
        out.flush();
        return replyError(cookie);
    }

    int trim(long offset, long length, boolean fua) throws IOException {
        return replyError(send(Nbd.CMD_TRIM, fua ? Nbd.CMD_FLAG_FUA : 0, offset, length));
    }

    int writeZeroes(long offset, long length, boolean fua) throws IOException {
        return replyError(send(Nbd.CMD_WRITE_ZEROES, fua ? Nbd.CMD_FLAG_FUA : 0, offset, length));
    }

    int flush() throws IOException {
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

    private int replyError(long expectedCookie) throws IOException {
        int magic = in.readInt();
        int error = in.readInt();
        long replyCookie = in.readLong();
        if (magic != Nbd.SIMPLE_REPLY_MAGIC || replyCookie != expectedCookie) {
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
