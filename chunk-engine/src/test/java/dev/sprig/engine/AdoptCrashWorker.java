package dev.sprig.engine;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.Random;

/**
 * Adopts image files back to back in its own JVM: lc k is created, a sparse raw image is written
 * to its staging file, and adopted; each adopt that returned is reported as {@code ADOPTED <k>}.
 * The test kills it with SIGKILL at a random moment. Image k of a seed is always the same.
 */
public final class AdoptCrashWorker {

    static final long SIZE = 3 * Layout.PC_SIZE + 5 * Layout.SEGMENT_SIZE;
    private static final int MAX_IMAGES = 100_000;

    private AdoptCrashWorker() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long seed = Long.parseLong(args[1]);
        ChunkEngine engine = ChunkEngine.open(dir);
        System.out.println("READY");
        System.out.flush();
        for (int k = 0; k < MAX_IMAGES; k++) {
            engine.create(lc(k), SIZE);
            Path staged = engine.stagingFile(lc(k));
            writeSparse(staged, image(seed, k));
            engine.adopt(lc(k), staged);
            System.out.println("ADOPTED " + k);
            System.out.flush();
        }
        System.out.println("DONE");
        System.out.flush();
        Thread.sleep(60_000);
    }

    static long lc(int k) {
        return 100 + k;
    }

    /** Random data in about half of the segments, zeros in the rest. */
    static byte[] image(long seed, int k) {
        Random r = new Random(seed * 1_000_003L + k);
        byte[] image = new byte[(int) SIZE];
        for (int s = 0; s < SIZE / Layout.SEGMENT_SIZE; s++) {
            if (r.nextBoolean()) {
                byte[] data = new byte[Layout.SEGMENT_SIZE];
                r.nextBytes(data);
                System.arraycopy(data, 0, image, s * Layout.SEGMENT_SIZE, data.length);
            }
        }
        return image;
    }

    /** As qemu-img writes a raw image: the non-zero segments, holes elsewhere. */
    static void writeSparse(Path file, byte[] image) throws IOException {
        try (RandomAccessFile out = new RandomAccessFile(file.toFile(), "rw")) {
            out.setLength(image.length);
            for (int at = 0; at < image.length; at += Layout.SEGMENT_SIZE) {
                boolean zero = true;
                for (int i = at; i < at + Layout.SEGMENT_SIZE && zero; i++) {
                    zero = image[i] == 0;
                }
                if (!zero) {
                    out.seek(at);
                    out.write(image, at, Layout.SEGMENT_SIZE);
                }
            }
        }
    }
}
