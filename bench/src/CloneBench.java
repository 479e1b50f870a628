import dev.sprig.client.BatchCreate;
import dev.sprig.client.CreateDisk;
import dev.sprig.client.CreateImage;
import dev.sprig.client.DiskView;
import dev.sprig.client.SprigApiClient;
import dev.sprig.client.Wire;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * bench/clone's measuring half (run by bench/clone with `java CloneBench.java`): against a running
 * api-server, times a bulk clone of COUNT disks through POST /v1/disks:batchCreate and COUNT single
 * POST /v1/disks at 16-way concurrency, and beside them a loop of `qemu-img create -f qcow2 -b
 * base.raw -F raw` for the same count, in one run.
 *
 * <p>{@code java CloneBench.java disks URL KEY BASE N WARMUP SERVER} is the scale half (bench/clone
 * --disks N): WARMUP batches of 100, then N disks of one image in batches of 2,500, the time of every
 * batch, and the externId of the last disk, which bench/clone asks for after it has killed and
 * restarted the server. SERVER describes the api-server for the table's title.
 *
 * <p>It speaks to api-server with api-client's records (on the class path bench/clone gives it), each
 * create sent once without an Idempotency-Key, as it always was; the single clones go over its own
 * light connections (see {@link #single}).
 */
public class CloneBench {

    static String url;
    static String key;
    static SprigApiClient api;

    static final int FLEET_BATCH = 2_500;
    static final int FLEET_WARMUP = 100;

    public static void main(String[] args) throws Exception {
        if (args[0].equals("disks")) {
            url = args[1];
            key = args[2];
            api = client();
            fleet(Path.of(args[3]), Integer.parseInt(args[4]), Integer.parseInt(args[5]), args[6]);
            return;
        }
        url = args[0];
        key = args[1];
        api = client();
        Path base = Path.of(args[2]);
        int count = Integer.parseInt(args[3]);
        Path work = Path.of(args[4]);
        int warmupRounds = Integer.parseInt(args[5]);
        String tag = Long.toString(System.nanoTime(), 36);

        String image = createImage("bench-" + tag, base);
        // Warm-up, not measured: the connection pool, and the JIT of both JVMs. A server fresh from
        // start-up spends a good part of its CPU compiling for the first tens of thousands of
        // requests (one C2 thread on two cores), which is what measured requests would queue behind.
        // The p99 of each round is printed, so that the table shows how far it had settled.
        for (int round = 0; round < 3; round++) {
            batch(image, "warm" + round + "-" + tag, 500);
        }
        List<String> warmup = new ArrayList<>();
        for (int round = 0; round < warmupRounds; round++) {
            List<Double> warm = single(image, "warm" + round + "single-" + tag, 2_500, 16);
            warm.remove(warm.size() - 1);
            Collections.sort(warm);
            warmup.add(String.format("%.1f", percentile(warm, 0.99)));
        }

        double[] batchSeconds = new double[3];
        for (int round = 0; round < batchSeconds.length; round++) {
            long t0 = System.nanoTime();
            int created = batch(image, "fleet" + round + "-" + tag, count);
            batchSeconds[round] = (System.nanoTime() - t0) / 1e9;
            if (created != count) {
                throw new IllegalStateException("batch created " + created + " of " + count);
            }
        }
        List<Double> latencies = single(image, "single-" + tag, count, 16);
        double singleWall = latencies.remove(latencies.size() - 1);
        Collections.sort(latencies);

        long q0 = System.nanoTime();
        for (int i = 0; i < count; i++) {
            Process p = new ProcessBuilder("qemu-img", "create", "-q", "-f", "qcow2", "-b", base.toString(), "-F", "raw",
                            work.resolve("overlay-" + i + ".qcow2").toString())
                    .inheritIO()
                    .start();
            if (p.waitFor() != 0) {
                throw new IllegalStateException("qemu-img create failed");
            }
        }
        double qemuSeconds = (System.nanoTime() - q0) / 1e9;

        double batchMedian = median(batchSeconds);
        double p50 = percentile(latencies, 0.50);
        double p99 = percentile(latencies, 0.99);
        System.out.printf("bulk clone: %,d disks of a %d MiB image, api-server on the embedded backend%n%n", count,
                Files.size(base) >> 20);
        System.out.printf("%-44s %12s %14s%n", "what", "total", "per disk");
        System.out.printf("%-44s %10.3f s %11.3f ms%n", "POST /v1/disks:batchCreate (median of 3)", batchMedian,
                batchMedian * 1000 / count);
        System.out.printf("%-44s %10.3f s %11.3f ms%n", "POST /v1/disks x " + count + ", 16 concurrent", singleWall,
                singleWall * 1000 / count);
        System.out.printf("%-44s %10.3f s %11.3f ms%n", "qemu-img create -f qcow2 -b base.raw (loop)", qemuSeconds,
                qemuSeconds * 1000 / count);
        System.out.printf("%nwarm-up rounds of 2,500 single clones, p99 ms: %s%n", String.join(", ", warmup));
        System.out.printf("batch rounds: %.3f s, %.3f s, %.3f s%n", batchSeconds[0], batchSeconds[1], batchSeconds[2]);
        System.out.printf("single POST /v1/disks latency: p50 %.1f ms, p99 %.1f ms, max %.1f ms%n", p50, p99,
                latencies.get(latencies.size() - 1));
        System.out.printf("%nsummary: batch2500_s=%.3f single_p99_ms=%.1f batch_vs_qemu_img=%.1f count=%d%n",
                batchMedian, p99, qemuSeconds / batchMedian, count);
    }

    /**
     * On a fresh server, a few small batches first, not timed: the very first batch of a JVM fresh
     * from start-up takes three times as long as the second (class loading, the first JIT), which
     * would make batch_last_vs_first say nothing about whether batches slow down as disks add up.
     * The warm-up disks stay: deleting them one by one would take minutes.
     */
    static void fleet(Path base, int disks, int warmupBatches, String server) throws Exception {
        String tag = Long.toString(System.nanoTime(), 36);
        String image = createImage("fleet-" + tag, base);
        for (int round = 0; round < warmupBatches; round++) {
            batch(image, "fwarm" + round + "-" + tag, FLEET_WARMUP);
        }
        int batches = (disks + FLEET_BATCH - 1) / FLEET_BATCH;
        double[] seconds = new double[batches];
        String last = null;
        for (int b = 0; b < batches; b++) {
            int count = Math.min(FLEET_BATCH, disks - b * FLEET_BATCH);
            long t0 = System.nanoTime();
            List<String> created = batchIds(
                    image,
                    String.format("f%03d-%s", b, tag),
                    count,
                    java.util.Map.of("batch", "b" + b, "parity", b % 2 == 0 ? "even" : "odd"));
            seconds[b] = (System.nanoTime() - t0) / 1e9;
            if (created.size() != count) {
                throw new IllegalStateException("batch created " + created.size() + " of " + count);
            }
            last = created.get(created.size() - 1);
        }
        int slowest = 0;
        for (int b = 1; b < batches; b++) {
            if (seconds[b] > seconds[slowest]) {
                slowest = b;
            }
        }
        double first = seconds[0];
        double lastBatch = seconds[batches - 1];
        System.out.printf("scale: %,d disks of one %d MiB image in %d batches of %,d (POST /v1/disks:batchCreate), %s%n",
                disks, Files.size(base) >> 20, batches, FLEET_BATCH, server);
        if (warmupBatches > 0) {
            System.out.printf("after %d warm-up batches of %d disks (not timed)%n", warmupBatches, FLEET_WARMUP);
        }
        System.out.println();
        System.out.printf("%-12s %10s%n", "batch", "time");
        System.out.printf("%-12s %8.3f s%n", "first", first);
        System.out.printf("%-12s %8.3f s%n", "median", median(seconds));
        System.out.printf("%-12s %8.3f s%n", "last", lastBatch);
        System.out.printf("%-12s %8.3f s%n", "max (#" + (slowest + 1) + ")", seconds[slowest]);
        System.out.printf("%nevery batch, s:");
        for (int b = 0; b < batches; b++) {
            System.out.printf(b % 10 == 0 ? "%n  %3d-%-3d" : "", b + 1, Math.min(b + 10, batches));
            System.out.printf(" %.3f", seconds[b]);
        }
        System.out.printf("%n%nlast disk: %s%n", last);
        Listing listing = listing(batches);
        ConsolePages console = consolePages(image, last);
        System.out.printf("summary: disks=%d batch_first_s=%.3f batch_last_s=%.3f batch_max_s=%.3f"
                        + " batch_last_vs_first=%.2f list_first_page_ms=%.1f list_half_label_ms=%.1f"
                        + " list_batch_label_all_pages_ms=%.1f list_absent_label_ms=%.1f"
                        + " console_overview_ms=%.1f console_disk_page_ms=%.1f console_slowest_page_ms=%.1f%n",
                disks, first, lastBatch, seconds[slowest], lastBatch / first, listing.firstPage(), listing.halfLabel(),
                listing.batchLabel(), listing.absentLabel(), console.overview(), console.diskPage(), console.slowest());
    }

    /** Medians, in ms, of the console's pages among the fleet's disks. */
    record ConsolePages(double overview, double diskPage, double slowest) {}

    /**
     * Every page of the console (/console), signed in as a browser is, 7 times each (the median
     * shown): with the fleet's disks all clones of one image, the image's page and the last disk's
     * lineage tree are the ones with 100,000 siblings to pass over. Each answer is checked for what
     * the page must show.
     */
    static ConsolePages consolePages(String image, String lastDisk) throws Exception {
        ConsoleSession console = ConsoleSession.signIn(url, key);
        java.util.LinkedHashMap<String, String[]> pages = new java.util.LinkedHashMap<>();
        pages.put("overview", new String[] {"/console", "id=\"disks-count\""});
        pages.put("images", new String[] {"/console/images", image});
        pages.put("the image's page", new String[] {"/console/images/" + image, "All of them"});
        pages.put("disks (first page)", new String[] {"/console/disks", "next-page"});
        pages.put("disks cloned from the image", new String[] {"/console/disks?sourceId=" + image, "next-page"});
        pages.put("the last disk's page (tree)", new String[] {"/console/disks/" + lastDisk, "more</a>"});
        pages.put("operations", new String[] {"/console/operations", "id=\"operations\""});
        pages.put("nodes", new String[] {"/console/nodes", "<h1>Storage nodes</h1>"});
        System.out.printf("%-58s %8s%n", "console pages among them (median of 7)", "time");
        double overview = 0;
        double disk = 0;
        double slowest = 0;
        for (var page : pages.entrySet()) {
            String path = page.getValue()[0];
            String mustShow = page.getValue()[1];
            double millis = medianMillis(() -> console.expect(path, mustShow));
            System.out.printf("%-58s %6.1f ms%n", page.getKey() + " " + path.replaceAll("(img|disk)-[0-9a-z]{16}", "{id}"), millis);
            if (path.equals("/console")) {
                overview = millis;
            }
            if (path.startsWith("/console/disks/")) {
                disk = millis;
            }
            slowest = Math.max(slowest, millis);
        }
        System.out.println();
        return new ConsolePages(overview, disk, slowest);
    }

    /** A console session: signed in with the API key through the sign-in form, CSRF token and all. */
    record ConsoleSession(java.net.http.HttpClient http, String base, String cookie) {

        static ConsoleSession signIn(String base, String key) throws Exception {
            var http = java.net.http.HttpClient.newHttpClient();
            var form = http.send(
                    java.net.http.HttpRequest.newBuilder(URI.create(base + "/console/sign-in"))
                            .build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            String cookie = form.headers().firstValue("Set-Cookie").orElseThrow().split(";")[0];
            var token = java.util.regex.Pattern.compile("name=\"_csrf\" value=\"([^\"]+)\"")
                    .matcher(form.body());
            if (!token.find()) {
                throw new IllegalStateException("the sign-in page has no CSRF token");
            }
            var signedIn = http.send(
                    java.net.http.HttpRequest.newBuilder(URI.create(base + "/console/sign-in"))
                            .header("Cookie", cookie)
                            .header("Content-Type", "application/x-www-form-urlencoded")
                            .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                                    "key=" + java.net.URLEncoder.encode(key, java.nio.charset.StandardCharsets.UTF_8)
                                            + "&_csrf=" + token.group(1)))
                            .build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            if (signedIn.statusCode() != 302) {
                throw new IllegalStateException("signing in to the console answered " + signedIn.statusCode());
            }
            return new ConsoleSession(
                    http, base, signedIn.headers().firstValue("Set-Cookie").orElseThrow().split(";")[0]);
        }

        void expect(String path, String mustShow) throws Exception {
            var page = http.send(
                    java.net.http.HttpRequest.newBuilder(URI.create(base + path))
                            .header("Cookie", cookie)
                            .build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            if (page.statusCode() != 200 || !page.body().contains(mustShow)) {
                throw new IllegalStateException(path + " answered " + page.statusCode() + " without " + mustShow);
            }
        }
    }

    /** Medians, in ms, of listings among the fleet's disks (each batch labelled batch=bN, parity=even|odd). */
    record Listing(double firstPage, double halfLabel, double batchLabel, double absentLabel) {}

    /**
     * GET /v1/disks among every disk of the fleet, 7 times each (the median shown): the first page of
     * all of them; the first page of those with a label half of them carry; every page (1,000 a page)
     * of those with one batch's label; and a label none carries. Each answer is checked.
     */
    static Listing listing(int batches) throws Exception {
        int middle = batches / 2;
        double firstPage = medianMillis(() -> expectItems(api.disks(SprigApiClient.Filter.ALL, 50, null), 50));
        double half = medianMillis(() ->
                expectItems(api.disks(SprigApiClient.Filter.ALL.withLabel("parity", "even"), 50, null), 50));
        double batch = medianMillis(() -> {
            int found = api.allDisks(SprigApiClient.Filter.ALL.withLabel("batch", "b" + middle), 1000)
                    .size();
            if (found != FLEET_BATCH) {
                throw new IllegalStateException("label batch=b" + middle + " listed " + found + " disks");
            }
        });
        double absent = medianMillis(() ->
                expectItems(api.disks(SprigApiClient.Filter.ALL.withLabel("batch", "none"), 50, null), 0));
        System.out.printf("%n%-58s %8s%n", "GET /v1/disks among them (median of 7)", "time");
        System.out.printf("%-58s %6.1f ms%n", "first page of all (50)", firstPage);
        System.out.printf("%-58s %6.1f ms%n", "first page with a label half carry (50)", half);
        System.out.printf("%-58s %6.1f ms%n", "every page with one batch's label (2,500, 1,000 a page)", batch);
        System.out.printf("%-58s %6.1f ms%n%n", "a label none carries (empty page)", absent);
        return new Listing(firstPage, half, batch, absent);
    }

    private interface Timed {
        void run() throws Exception;
    }

    private static double medianMillis(Timed call) throws Exception {
        double[] millis = new double[7];
        for (int i = 0; i < millis.length; i++) {
            long t0 = System.nanoTime();
            call.run();
            millis[i] = (System.nanoTime() - t0) / 1e6;
        }
        return median(millis);
    }

    private static void expectItems(dev.sprig.client.DiskPage page, int count) {
        if (page.items().size() != count) {
            throw new IllegalStateException("a page listed " + page.items().size() + " disks, not " + count);
        }
    }

    static SprigApiClient client() {
        return new SprigApiClient(
                URI.create(url),
                key,
                new SprigApiClient.Timeouts(Duration.ofSeconds(10), Duration.ofMinutes(10)),
                SprigApiClient.Creates.ONCE);
    }

    static String createImage(String name, Path base) throws Exception {
        String id = api.createImage(CreateImage.upload(name, Files.size(base))).externId();
        api.upload(id, base, sent -> {});
        return id;
    }

    static int batch(String image, String prefix, int count) throws Exception {
        return batchIds(image, prefix, count).size();
    }

    /** The externIds of the created disks, in the order the answer lists them. */
    static List<String> batchIds(String image, String prefix, int count) throws Exception {
        return batchIds(image, prefix, count, null);
    }

    static List<String> batchIds(
            String image, String prefix, int count, java.util.Map<String, String> labels)
            throws Exception {
        if (!(api.batchCreate(new BatchCreate(image, count, prefix, null, labels))
                instanceof SprigApiClient.Batch.Created created)) {
            throw new IllegalStateException("the batch of " + image + " waits for its import: the image is not cached");
        }
        return created.disks().stream().map(DiskView::externId).toList();
    }

    /**
     * Latencies in ms of each call; the last element is the wall time of all, in seconds. Each of the
     * {@code threads} clients is one blocking keep-alive HTTP/1.1 connection, like wrk's: on two
     * cores shared with the server, a heavier client (java.net.http) would spend the CPU the server
     * needs and measure itself.
     */
    static List<Double> single(String image, String prefix, int count, int threads) throws Exception {
        URI base = URI.create(url);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        AtomicInteger next = new AtomicInteger();
        List<Future<List<Double>>> workers = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            workers.add(pool.submit(() -> {
                List<Double> mine = new ArrayList<>();
                try (KeepAlive connection = new KeepAlive(base.getHost(), base.getPort())) {
                    for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
                        String body = Wire.write(new CreateDisk(prefix + "-" + i, image));
                        long s = System.nanoTime();
                        connection.post("/v1/disks", body, 201);
                        mine.add((System.nanoTime() - s) / 1e6);
                    }
                }
                return mine;
            }));
        }
        List<Double> all = new ArrayList<>();
        try {
            for (Future<List<Double>> w : workers) {
                all.addAll(w.get());
            }
        } finally {
            pool.shutdownNow();
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        all.add(wall);
        return all;
    }

    /** One HTTP/1.1 connection, reused for every request; reads Content-Length and chunked bodies. */
    static final class KeepAlive implements AutoCloseable {
        private final String host;
        private final int port;
        private Socket socket;
        private BufferedInputStream in;
        private OutputStream out;

        KeepAlive(String host, int port) throws IOException {
            this.host = host;
            this.port = port;
            connect();
        }

        /** Tomcat closes a connection after 100 requests (maxKeepAliveRequests), saying so first. */
        private void connect() throws IOException {
            socket = new Socket(host, port);
            socket.setTcpNoDelay(true);
            in = new BufferedInputStream(socket.getInputStream(), 16384);
            out = socket.getOutputStream();
        }

        String post(String path, String json, int expected) throws IOException {
            byte[] body = json.getBytes(StandardCharsets.UTF_8);
            String head = "POST " + path + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\nAuthorization: Bearer " + key
                    + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n";
            byte[] request = new byte[head.length() + body.length];
            System.arraycopy(head.getBytes(StandardCharsets.ISO_8859_1), 0, request, 0, head.length());
            System.arraycopy(body, 0, request, head.length(), body.length);
            out.write(request);
            out.flush();
            String status = line();
            int code = Integer.parseInt(status.substring(9, 12));
            int length = -1;
            boolean chunked = false;
            boolean closing = false;
            for (String header = line(); !header.isEmpty(); header = line()) {
                String lower = header.toLowerCase(java.util.Locale.ROOT);
                if (lower.startsWith("content-length:")) {
                    length = Integer.parseInt(lower.substring(15).trim());
                } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                    chunked = true;
                } else if (lower.startsWith("connection:") && lower.contains("close")) {
                    closing = true;
                }
            }
            StringBuilder answer = new StringBuilder();
            if (chunked) {
                for (int size = Integer.parseInt(line().trim(), 16); size > 0; size = Integer.parseInt(line().trim(), 16)) {
                    answer.append(new String(in.readNBytes(size), StandardCharsets.UTF_8));
                    line();
                }
                line();
            } else if (length > 0) {
                answer.append(new String(in.readNBytes(length), StandardCharsets.UTF_8));
            }
            if (closing) {
                socket.close();
                connect();
            }
            if (code != expected) {
                throw new IllegalStateException(code + " " + answer);
            }
            return answer.toString();
        }

        private String line() throws IOException {
            StringBuilder line = new StringBuilder();
            for (int c = in.read(); c != '\n'; c = in.read()) {
                if (c < 0) {
                    throw new IOException("connection closed by the server");
                }
                if (c != '\r') {
                    line.append((char) c);
                }
            }
            return line.toString();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        java.util.Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    static double percentile(List<Double> sorted, double p) {
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p * sorted.size()) - 1));
    }
}
