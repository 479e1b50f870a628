package dev.sprig.nbd.client;

import dev.sprig.nbd.Nbd;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The client side of the fixed-newstyle handshake, in one round trip: structured replies,
 * base:allocation and NBD_OPT_GO are sent together once the greeting arrives. A server that refuses
 * the first two is still used, with simple replies and without block status. When the export is
 * open the handler steps aside for {@link ReplyDecoder} and tells the {@link NbdChannel}.
 */
final class ClientHandshake extends ByteToMessageDecoder {

    private final NbdChannel node;
    private boolean greeted;
    private int answered;
    private boolean structured;
    /** Whether the server offered base:allocation; its id may be 0 (qemu-nbd's is). */
    private boolean baseAllocation;

    private long sizeBytes = -1;
    private int transmissionFlags;

    ClientHandshake(NbdChannel node) {
        this.node = node;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws IOException {
        if (!greeted) {
            if (in.readableBytes() < 18) {
                return;
            }
            if (in.readLong() != Nbd.NBDMAGIC || in.readLong() != Nbd.IHAVEOPT) {
                throw new IOException(node.server() + " is not a newstyle NBD server");
            }
            int flags = in.readUnsignedShort();
            if ((flags & Nbd.FLAG_FIXED_NEWSTYLE) == 0) {
                throw new IOException(node.server() + " does not speak fixed newstyle");
            }
            greeted = true;
            ctx.writeAndFlush(options(ctx, flags & Nbd.FLAG_NO_ZEROES));
        }
        while (in.readableBytes() >= 20) {
            int start = in.readerIndex();
            long length = in.getUnsignedInt(start + 16);
            if (in.getLong(start) != Nbd.OPTION_REPLY_MAGIC || length > Nbd.MAX_OPTION_LENGTH) {
                throw new IOException("bad option reply from " + node.server());
            }
            if (in.readableBytes() < 20 + length) {
                return;
            }
            int option = in.getInt(start + 8);
            int type = in.getInt(start + 12);
            in.skipBytes(20);
            ByteBuf data = in.readSlice((int) length);
            if (type == Nbd.REP_ACK || type < 0) {
                answered++;
            }
            if (option == Nbd.OPT_STRUCTURED_REPLY) {
                structured = type == Nbd.REP_ACK;
            } else if (option == Nbd.OPT_SET_META_CONTEXT && type == Nbd.REP_META_CONTEXT && length >= 4) {
                baseAllocation = true;
            } else if (option == Nbd.OPT_GO
                    && type == Nbd.REP_INFO
                    && length >= 12
                    && data.getUnsignedShort(0) == Nbd.INFO_EXPORT) {
                sizeBytes = data.getLong(2);
                transmissionFlags = data.getUnsignedShort(10);
            } else if (option == Nbd.OPT_GO && type < 0) { // error replies have the top bit set
                throw new ExportRefusedException(
                        node.server(), node.exportName(), data.toString(StandardCharsets.UTF_8));
            }
            if (answered == 3) {
                ctx.pipeline().replace(this, "nbd-replies", new ReplyDecoder(structured, node));
                node.opened(ctx.channel(), sizeBytes, transmissionFlags, baseAllocation);
                return;
            }
        }
    }

    private ByteBuf options(ChannelHandlerContext ctx, int noZeroes) {
        byte[] name = node.exportName().getBytes(StandardCharsets.UTF_8);
        byte[] context = Nbd.BASE_ALLOCATION.getBytes(StandardCharsets.US_ASCII);
        ByteBuf out = ctx.alloc().buffer();
        out.writeInt(Nbd.FLAG_C_FIXED_NEWSTYLE | noZeroes);
        out.writeLong(Nbd.IHAVEOPT).writeInt(Nbd.OPT_STRUCTURED_REPLY).writeInt(0);
        out.writeLong(Nbd.IHAVEOPT)
                .writeInt(Nbd.OPT_SET_META_CONTEXT)
                .writeInt(4 + name.length + 4 + 4 + context.length);
        out.writeInt(name.length)
                .writeBytes(name)
                .writeInt(1)
                .writeInt(context.length)
                .writeBytes(context);
        out.writeLong(Nbd.IHAVEOPT).writeInt(Nbd.OPT_GO).writeInt(4 + name.length + 2);
        out.writeInt(name.length).writeBytes(name).writeShort(0);
        return out;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        node.failed(NbdChannel.asIo(cause, node.server()));
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        node.failed(new IOException(node.server() + " closed the connection during the handshake"));
        super.channelInactive(ctx);
    }
}
