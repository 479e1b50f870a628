package dev.sprig.engine;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Runs {@code createAll} batches back to back against the engine in its own JVM and reports each
 * one that returned on stdout as {@code COMMITTED <batch>}. The test kills it with SIGKILL at a
 * random moment. Batch k of a seed is always the same, so the test can rebuild what each batch
 * defined.
 */
public final class CreateAllCrashWorker {

    /** A frozen image with data, created before the worker starts; batches clone it. */
    static final long BASE_LC = 1;

    static final long SIZE = Layout.PC_SIZE;
    private static final int MAX_BATCHES = 100_000;

    private CreateAllCrashWorker() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long seed = Long.parseLong(args[1]);
        ChunkEngine engine = ChunkEngine.open(dir);
        System.out.println("READY");
        System.out.flush();
        for (int k = 0; k < MAX_BATCHES; k++) {
            engine.createAll(batch(seed, k));
            System.out.println("COMMITTED " + k);
            System.out.flush();
        }
        System.out.println("DONE");
        System.out.flush();
        Thread.sleep(60_000);
    }

    static long firstLc(int batch) {
        return 1_000 + batch * 10_000L;
    }

    /**
     * 1 to 2,500 lcs: a frozen image of the batch's own first, then clones of it, of the base image
     * or of earlier frozen entries, some frozen themselves, some larger than their parent.
     */
    static List<NewLc> batch(long seed, int k) {
        Random r = new Random(seed * 1_000_003L + k);
        int n = 1 + r.nextInt(2_500);
        List<NewLc> batch = new ArrayList<>(n);
        List<NewLc> frozen = new ArrayList<>();
        frozen.add(new NewLc(BASE_LC, null, SIZE, true));
        frozen.add(new NewLc(firstLc(k), null, SIZE, true));
        batch.add(frozen.get(1));
        for (int i = 1; i < n; i++) {
            NewLc parent = frozen.get(r.nextInt(frozen.size()));
            long size = parent.sizeBytes() + (r.nextInt(4) == 0 ? SIZE : 0);
            NewLc lc = new NewLc(firstLc(k) + i, parent.lcId(), size, r.nextInt(20) == 0);
            if (lc.frozen()) {
                frozen.add(lc);
            }
            batch.add(lc);
        }
        return batch;
    }
}
