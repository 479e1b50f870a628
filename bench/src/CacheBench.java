import dev.sprig.client.BatchCreate;
import dev.sprig.client.CacheStats;
import dev.sprig.client.CreateImage;
import dev.sprig.client.DiskView;
import dev.sprig.client.ImageView;
import dev.sprig.client.OperationView;
import dev.sprig.client.SprigApiClient;
import dev.sprig.client.Wire;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * bench/cache's measuring half (run by bench/cache with `java CacheBench.java`): the seed's headline
 * scenario against a running api-server whose cache holds two of four images. In one run:
 *
 * <ol>
 *   <li>the anchors: `cp` and `qemu-img convert -O raw` (plain, then synced, with direct I/O) of
 *       each qcow2 image in the store, every output kept until all are made, as imports keep
 *       theirs; and, for reference, the plain convert with each output deleted at once;
 *   <li>the four images registered from the store (four imports, the cache evicting as they go),
 *       then evicted, so that the measured part starts cold;
 *   <li>COUNT disks requested in batches of BATCH (POST /v1/disks:batchCreate), each batch from an
 *       image drawn at random (fixed seed); an uncached image answers 202 and the batch is done when
 *       its operation (import, then clones) has succeeded. Each fleet is released (its disks
 *       deleted) before the next is launched, as fleets of a flash sale come and go: a copy that
 *       disks read from is never evicted, so without releases a cache for two could not serve four.
 * </ol>
 *
 * <p>It speaks to api-server with api-client's records (on the class path bench/cache gives it), each
 * create sent once without an Idempotency-Key, as it always was.
 */
public class CacheBench {

    static SprigApiClient api;
    static SprigApiClient admin;

    public static void main(String[] args) throws Exception {
        api = client(args[0], args[1]);
        admin = client(args[0], args[2]);
        Path store = Path.of(args[3]);
        Path work = Path.of(args[4]);
        int count = Integer.parseInt(args[5]);
        int batchSize = Integer.parseInt(args[6]);
        long seed = Long.parseLong(args[7]);
        String tag = Long.toString(System.nanoTime(), 36);

        List<Path> images = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            images.add(store.resolve("img" + i + ".qcow2"));
        }
        long imageBytes = virtualSize(images.get(0));

        // Anchors, on the same files in the same run. An import keeps what it writes (its copy lives
        // on), so the anchors keep their outputs too until all four are made: on this VM, writing into
        // page-cache pages that a just-deleted file freed is several times faster than into fresh
        // ones, which no import can use. The output-deleted-at-once convert is shown as well.
        double reusedSeconds = 0;
        for (Path image : images) {
            Path raw = work.resolve(image.getFileName() + ".reused.raw");
            reusedSeconds += timed("qemu-img", "convert", "-O", "raw", image.toString(), raw.toString());
            Files.delete(raw);
        }
        double cpSeconds = 0;
        double convertSeconds = 0;
        double durableSeconds = 0;
        double directSeconds = 0;
        List<Path> outputs = new ArrayList<>();
        for (Path image : images) {
            Path copy = work.resolve(image.getFileName());
            cpSeconds += timed("cp", image.toString(), copy.toString());
            Path raw = work.resolve(image.getFileName() + ".raw");
            convertSeconds += timed("qemu-img", "convert", "-O", "raw", image.toString(), raw.toString());
            // made durable before it counts as done, as an import is: by sync, or by direct I/O
            // (qemu-img flushes a -t none target as it closes it)
            Path synced = work.resolve(image.getFileName() + ".synced.raw");
            durableSeconds += timed("qemu-img", "convert", "-O", "raw", image.toString(), synced.toString())
                    + timed("sync", synced.toString());
            Path direct = work.resolve(image.getFileName() + ".direct.raw");
            directSeconds +=
                    timed("qemu-img", "convert", "-t", "none", "-O", "raw", image.toString(), direct.toString());
            outputs.addAll(List.of(copy, raw, synced, direct));
        }
        for (Path output : outputs) {
            Files.delete(output);
        }

        // registration: four imports through api-server, timed by their operations
        List<String> ids = new ArrayList<>();
        double importSeconds = 0;
        for (int i = 0; i < images.size(); i++) {
            ImageView accepted = api.createImage(CreateImage.from(
                    "bench-" + tag + "-" + (i + 1), images.get(i).toUri().toString(), "qcow2"));
            ids.add(accepted.externId());
            OperationView operation = awaitSucceeded(accepted.operationId());
            importSeconds += Duration.between(operation.createdAt(), operation.finishedAt())
                            .toNanos()
                    / 1e9;
        }
        for (String id : ids) {
            admin.evict(id);
        }

        // the launches
        CacheStats before = api.cache();
        Random random = new Random(seed);
        int batches = count / batchSize;
        double[] batchSeconds = new double[batches];
        String[] batchImage = new String[batches];
        boolean[] batchHit = new boolean[batches];
        double releaseSeconds = 0;
        long start = System.nanoTime();
        for (int b = 0; b < batches; b++) {
            int pick = random.nextInt(images.size());
            batchImage[b] = "img" + (pick + 1);
            String prefix = "fleet-" + tag + "-" + b;
            long t0 = System.nanoTime();
            SprigApiClient.Batch answer = api.batchCreate(new BatchCreate(ids.get(pick), batchSize, prefix));
            batchHit[b] = answer instanceof SprigApiClient.Batch.Created;
            if (answer instanceof SprigApiClient.Batch.Waiting waiting) {
                awaitSucceeded(waiting.operation().id());
            }
            batchSeconds[b] = (System.nanoTime() - t0) / 1e9;
            long r0 = System.nanoTime();
            release(prefix, batchSize);
            releaseSeconds += (System.nanoTime() - r0) / 1e9;
        }
        double wall = (System.nanoTime() - start) / 1e9;
        CacheStats after = api.cache();
        double createSeconds = 0;
        for (double seconds : batchSeconds) {
            createSeconds += seconds;
        }

        long hits = after.hits() - before.hits();
        long misses = after.misses() - before.misses();
        long evictions = after.evictions() - before.evictions();
        long imports = after.imports() - before.imports();
        long bytesImported = after.bytesImported() - before.bytesImported();
        double gib = (double) imageBytes * images.size() / (1L << 30);
        double importRate = gib / importSeconds;
        double convertRate = gib / convertSeconds;
        double cpRate = gib / cpSeconds;
        double durableRate = gib / durableSeconds;
        double directRate = gib / directSeconds;
        double reusedRate = gib / reusedSeconds;

        System.out.printf(
                "image cache: %,d disks in batches of %d over 4 images of %d MiB (qcow2, partly sparse),"
                        + " cache capacity %d MiB (two images), embedded backend%n%n",
                count, batchSize, imageBytes >> 20, after.capacityBytes() >> 20);
        System.out.printf("%-8s %-6s %-6s %12s %18s%n", "batch", "image", "cache", "time", "disks/s");
        for (int b = 0; b < batches; b++) {
            System.out.printf(
                    "%-8d %-6s %-6s %10.3f s %18.0f%n",
                    b + 1, batchImage[b], batchHit[b] ? "hit" : "miss", batchSeconds[b], batchSize / batchSeconds[b]);
        }
        System.out.printf("%n%-52s %10.3f s%n", "creating " + count + " disks (batches, imports included)", createSeconds);
        System.out.printf("%-52s %10.3f s%n", "releasing the fleets (DELETE each disk)", releaseSeconds);
        System.out.printf("%-52s %10.3f s%n", "wall time, launches and releases", wall);
        System.out.printf(
                "%-52s hits %d, misses %d, evictions %d, imports %d, %d MiB imported%n",
                "cache, in the launches (per disk)", hits, misses, evictions, imports, bytesImported >> 20);
        System.out.printf("%n%-62s %12s %16s%n", "import of the 4 images (image bytes)", "time", "throughput");
        String row = "%-62s %10.3f s %11.0f MiB/s%n";
        System.out.printf(row, "api-server import (operation: qemu-img into the engine)", importSeconds, importRate * 1024);
        System.out.printf(row, "qemu-img convert -O raw", convertSeconds, convertRate * 1024);
        System.out.printf(row, "qemu-img convert -O raw, then sync", durableSeconds, durableRate * 1024);
        System.out.printf(row, "qemu-img convert -t none -O raw (direct I/O)", directSeconds, directRate * 1024);
        System.out.printf(row, "cp of the qcow2 files", cpSeconds, cpRate * 1024);
        System.out.printf(
                row, "qemu-img convert -O raw, each output deleted at once", reusedSeconds, reusedRate * 1024);
        System.out.printf(
                "%nsummary: vms1000_s=%.2f import_vs_qemu_img=%.2f import_vs_qemu_img_synced=%.2f"
                        + " import_vs_qemu_img_direct=%.2f import_vs_qemu_img_reused=%.2f import_vs_cp=%.2f"
                        + " hits=%d misses=%d evictions=%d count=%d%n",
                createSeconds,
                importRate / convertRate,
                importRate / durableRate,
                importRate / directRate,
                importRate / reusedRate,
                importRate / cpRate,
                hits,
                misses,
                evictions,
                count);
    }

    static SprigApiClient client(String url, String key) {
        return new SprigApiClient(
                URI.create(url),
                key,
                new SprigApiClient.Timeouts(Duration.ofSeconds(10), Duration.ofMinutes(10)),
                SprigApiClient.Creates.ONCE);
    }

    /** Deletes the fleet's disks, 8 at a time. */
    static void release(String prefix, int size) throws Exception {
        List<String> disks =
                api.allDisks(prefix, 500).stream().map(DiskView::externId).toList();
        if (disks.size() != size) {
            throw new IllegalStateException("fleet " + prefix + " has " + disks.size() + " disks, not " + size);
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Void>> deletes = new ArrayList<>();
            for (String disk : disks) {
                deletes.add(pool.submit(() -> {
                    api.deleteDisk(disk);
                    return null;
                }));
            }
            for (Future<Void> delete : deletes) {
                delete.get();
            }
        } finally {
            pool.shutdown();
        }
    }

    static OperationView awaitSucceeded(String operationId) throws Exception {
        while (true) {
            OperationView operation = api.operation(operationId);
            if (operation.succeeded()) {
                return operation;
            }
            if (!operation.running()) {
                throw new IllegalStateException("operation " + operationId + " " + operation.state() + ": " + operation);
            }
            Thread.sleep(20);
        }
    }

    static long virtualSize(Path qcow2) throws Exception {
        Process info = new ProcessBuilder("qemu-img", "info", "--output=json", qcow2.toString()).start();
        String json = new String(info.getInputStream().readAllBytes());
        info.waitFor();
        return Wire.tree(json).path("virtual-size").asLong();
    }

    static double timed(String... command) throws Exception {
        long t0 = System.nanoTime();
        Process process = new ProcessBuilder(command).inheritIO().start();
        if (process.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed");
        }
        return (System.nanoTime() - t0) / 1e9;
    }
}
