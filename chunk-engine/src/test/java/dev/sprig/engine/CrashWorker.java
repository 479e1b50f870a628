package dev.sprig.engine;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Runs one crash cycle's script against the engine in its own JVM and reports each completed flush
 * on stdout as {@code FLUSHED <op index>}. The test kills it with SIGKILL at a random moment.
 */
public final class CrashWorker {

    private CrashWorker() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int cycle = Integer.parseInt(args[1]);
        long seed = Long.parseLong(args[2]);
        // an optional fourth argument: a journal bound small enough that checkpoints run mid-script
        EngineConfig config = args.length > 3
                ? EngineConfig.defaults().withCheckpoints(Long.parseLong(args[3]), Duration.ofDays(1))
                : EngineConfig.defaults();
        ChunkEngine engine = ChunkEngine.open(dir, config);
        long lc = CrashScript.cycleLc(cycle);
        System.out.println("READY");
        System.out.flush();
        for (int j = 0; j < CrashScript.OPS; j++) {
            CrashScript.Op op = CrashScript.op(seed, j);
            CrashScript.apply(engine, lc, op);
            if (op.kind() == CrashScript.Kind.FLUSH) {
                System.out.println("FLUSHED " + j);
                System.out.flush();
            }
        }
        System.out.println("DONE");
        System.out.flush();
        Thread.sleep(60_000);
    }
}
