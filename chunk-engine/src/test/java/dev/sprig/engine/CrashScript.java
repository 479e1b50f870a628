package dev.sprig.engine;

import java.util.Random;

/**
 * The deterministic work of one crash cycle, shared by the worker that runs it and the test that
 * checks what survived: op j of cycle seed c is always the same write, zeroing or flush.
 */
final class CrashScript {

    static final long BASE_LC = 1;
    static final long SIZE = 4 * Layout.PC_SIZE;
    static final int OPS = 1500;
    static final int SEG = Layout.SEGMENT_SIZE;

    enum Kind {
        WRITE,
        ZERO_SEGMENT,
        ZERO_PARTIAL,
        FLUSH
    }

    record Op(Kind kind, long offset, int length, long dataSeed) {
        byte[] data() {
            byte[] b = new byte[length];
            new Random(dataSeed).nextBytes(b);
            return b;
        }
    }

    private CrashScript() {}

    static long cycleLc(int cycle) {
        return 100 + cycle;
    }

    static byte[] baseImage() {
        byte[] b = new byte[(int) SIZE];
        new Random(4242).nextBytes(b);
        return b;
    }

    static Op op(long cycleSeed, int j) {
        Random r = new Random(cycleSeed * 1_000_003L + j);
        int p = r.nextInt(100);
        if (j == OPS - 1 || p < 10) {
            return new Op(Kind.FLUSH, 0, 0, 0);
        }
        int segments = (int) (SIZE / SEG);
        long segStart = (long) r.nextInt(segments) * SEG;
        if (p < 16) {
            return new Op(Kind.ZERO_SEGMENT, segStart, SEG, 0);
        }
        long offset = Math.min(SIZE - 1, Math.max(0, segStart + r.nextInt(2 * SEG) - SEG / 2));
        int length = switch (r.nextInt(4)) {
            case 0 -> 1 + r.nextInt(512);
            case 1 -> 4096 * (1 + r.nextInt(4));
            case 2 -> 1 + r.nextInt(300_000);
            default -> SEG;
        };
        length = (int) Math.min(length, SIZE - offset);
        if (p < 22) {
            return new Op(Kind.ZERO_PARTIAL, offset, length, 0);
        }
        return new Op(Kind.WRITE, offset, length, r.nextLong());
    }

    /** Applies op to the engine (in the worker). */
    static void apply(ChunkEngine engine, long lc, Op op) {
        switch (op.kind()) {
            case WRITE -> engine.write(lc, op.offset(), op.data());
            case ZERO_SEGMENT, ZERO_PARTIAL -> engine.writeZeroes(lc, op.offset(), op.length());
            case FLUSH -> engine.flush(lc);
        }
    }
}
