package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.assertProblem;
import static dev.sprig.api.ImageAndDiskApiIT.unique;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.engine.ChunkEngine;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * The image cache on real PostgreSQL and the embedded engine: copies of imported images within
 * {@code sprig.cache.capacity}, least recently used evicted first but never one that a disk reads
 * from, {@code CACHE_FULL} when nothing can go, and exactly one import for any number of requests
 * for an evicted image. Every image here holds {@link #DATA} bytes of data; the cache has room for
 * two and a half.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "sprig.api.api-keys=" + ImageCacheIT.KEY,
            "sprig.api.admin-keys=" + ImageCacheIT.ADMIN,
            "sprig.cache.capacity=" + ImageCacheIT.CAPACITY,
            "sprig.cache.max-clones-per-copy=2"
        })
class ImageCacheIT {

    static final String KEY = "cache-key-0123456789";
    static final String ADMIN = "cache-admin-0123456789";
    static final int MIB = 1 << 20;
    /** Each image: 2 MiB, of which the first half of each MiB is data and the rest zeros. */
    static final int SIZE = 2 * MIB;

    static final long DATA = MIB;
    static final long CAPACITY = 2 * DATA + DATA / 2;

    static Path sources;

    @DynamicPropertySource
    static void dataDirsAndSources(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "image-cache");
        sources = TestDataDirs.fresh("image-cache-sources");
        registry.add(
                "sprig.api.image-sources.allowed-prefixes",
                () -> sources.toUri().toString());
    }

    @LocalServerPort
    int port;

    @Autowired
    ChunkEngine engine;

    @Autowired
    JdbcTemplate jdbc;

    ApiClient api;
    ApiClient admin;

    /** Every test starts from an empty cache: no disks, no images. */
    @BeforeEach
    void emptyCache() {
        api = new ApiClient(port, KEY);
        admin = api.withKey(ADMIN);
        for (String disk : jdbc.queryForList("SELECT extern_id FROM resource WHERE kind = 'disk'", String.class)) {
            assertThat(api.delete("/v1/disks/" + disk).statusCode()).isEqualTo(204);
        }
        for (String image : jdbc.queryForList("SELECT extern_id FROM resource WHERE kind = 'image'", String.class)) {
            HttpResponse<String> deleted = api.delete("/v1/images/" + image);
            assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(204);
        }
        assertThat(cache().path("usedBytes").asLong()).isZero();
    }

    @Test
    void theLeastRecentlyUsedCopyIsEvictedFirstAndItsImageIsImportedAgainByItsNextClone() throws Exception {
        String a = imported("a");
        String b = imported("b");
        api.delete("/v1/disks/" + ApiClient.id(api.clone(a))); // a is used after b was imported
        long evictions = cache().path("evictions").asLong();

        String c = imported("c");

        JsonNode evicted = image(b);
        assertThat(evicted.path("state").asString()).isEqualTo("available");
        assertThat(evicted.path("cached").asBoolean()).isFalse();
        assertThat(evicted.path("copies").asInt()).isZero();
        assertThat(evicted.path("lcId").isNull()).isTrue();
        assertThat(evicted.path("name").asString()).startsWith("b-");
        assertThat(evicted.path("source").path("url").asString()).endsWith("/b.raw");
        assertThat(image(a).path("cached").asBoolean()).isTrue();
        assertThat(image(c).path("cached").asBoolean()).isTrue();
        assertThat(cache().path("evictions").asLong()).isEqualTo(evictions + 1);
        assertThat(cache().path("usedBytes").asLong()).isEqualTo(2 * DATA);

        // b comes back with its next clone, evicting a: imported before c, and c was imported since
        JsonNode disk = api.clone(b);
        assertThat(read(disk)).isEqualTo(content("b"));
        assertThat(image(b).path("cached").asBoolean()).isTrue();
        assertThat(image(a).path("cached").asBoolean()).isFalse();
        assertThat(image(c).path("cached").asBoolean()).isTrue();
        assertThat(importsOf(b)).isEqualTo(2);
    }

    @Test
    void aCopyThatADiskReadsFromIsNeverEvictedEvenWhenItIsTheLeastRecentlyUsed() throws Exception {
        String a = imported("a");
        JsonNode reader = api.clone(a);
        String b = imported("b");
        api.delete("/v1/disks/" + ApiClient.id(api.clone(b)));

        String c = imported("c");

        assertThat(image(a).path("cached").asBoolean())
                .as("a is read by a disk")
                .isTrue();
        assertThat(image(a).path("cloneCount").asLong()).isEqualTo(1);
        assertThat(image(b).path("cached").asBoolean()).isFalse();
        assertThat(image(c).path("cached").asBoolean()).isTrue();
        assertThat(read(reader)).isEqualTo(content("a"));
    }

    @Test
    void whenNothingCanBeEvictedImportsFailWithCacheFullAndTheCacheLosesNothing() throws Exception {
        String e = imported("e");
        assertThat(admin.action("/v1/images/" + e + ":evict").statusCode()).isEqualTo(204);
        String a = imported("a");
        JsonNode readsA = api.clone(a);
        String b = imported("b");
        JsonNode readsB = api.clone(b);
        long lcRows = lcRows();
        List<Long> engineLcs = engineLcs();
        double refusals = api.gauge("sprig_cache_full_total");
        double failedImports = api.gauge("sprig_operations_ended_total", "kind=\"import\"", "outcome=\"failed\"");
        double failedClones = api.gauge("sprig_operations_ended_total", "kind=\"clone\"", "outcome=\"failed\"");

        // a new image from a source: its import fails, saying why
        HttpResponse<String> accepted = api.post("/v1/images", source("c"));
        assertThat(accepted.statusCode()).isEqualTo(202);
        JsonNode failed =
                api.awaitFinished(ApiClient.json(accepted).path("operationId").asString());
        assertThat(failed.path("state").asString()).isEqualTo("failed");
        assertThat(failed.path("errorCode").asString()).isEqualTo("CACHE_FULL");
        assertThat(failed.path("error").asString()).contains("sprig.cache.capacity", "never evicted");
        assertThat(image(ApiClient.id(ApiClient.json(accepted))).path("state").asString())
                .isEqualTo("error");

        // a clone of the evicted image waits for an import that fails the same way
        assertProblem(api.tryClone(e), 507, "CACHE_FULL");
        HttpResponse<String> batch = api.post(
                "/v1/disks:batchCreate",
                "{\"namePrefix\":\"" + unique("full") + "\",\"count\":3,\"sourceId\":\"" + e + "\"}");
        assertThat(batch.statusCode()).as(batch.body()).isEqualTo(202);
        JsonNode batchFailed =
                api.awaitFinished(ApiClient.json(batch).path("id").asString());
        assertThat(batchFailed.path("errorCode").asString()).isEqualTo("CACHE_FULL");

        // three imports refused (c's, and e's for the clone and for the batch), as the alerts see it
        assertThat(api.gaugeReaching(refusals + 3, "sprig_cache_full_total")).isEqualTo(refusals + 3);
        assertThat(api.gaugeReaching(
                        failedImports + 3, "sprig_operations_ended_total", "kind=\"import\"", "outcome=\"failed\""))
                .isEqualTo(failedImports + 3);
        assertThat(api.gaugeReaching(
                        failedClones + 1, "sprig_operations_ended_total", "kind=\"clone\"", "outcome=\"failed\""))
                .isEqualTo(failedClones + 1);

        assertThat(image(a).path("cached").asBoolean()).isTrue();
        assertThat(image(b).path("cached").asBoolean()).isTrue();
        assertThat(image(e).path("state").asString()).isEqualTo("available");
        assertThat(image(e).path("cached").asBoolean()).isFalse();
        assertThat(read(readsA)).isEqualTo(content("a"));
        assertThat(read(readsB)).isEqualTo(content("b"));
        assertThat(lcRows()).as("lc rows").isEqualTo(lcRows);
        assertThat(engineLcs()).as("the engine's lcs").isEqualTo(engineLcs);
    }

    @Test
    void fiftyConcurrentClonesOfAnEvictedImageStartExactlyOneImport() throws Exception {
        String a = imported("a");
        assertThat(admin.action("/v1/images/" + a + ":evict").statusCode()).isEqualTo(204);
        long misses = cache().path("misses").asLong();
        long hits = cache().path("hits").asLong();

        int clients = 50;
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        CountDownLatch start = new CountDownLatch(1);
        List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
        try {
            for (int i = 0; i < clients; i++) {
                answers.add(CompletableFuture.supplyAsync(
                        () -> {
                            try {
                                start.await();
                            } catch (InterruptedException interrupted) {
                                throw new IllegalStateException(interrupted);
                            }
                            return api.tryClone(a);
                        },
                        pool));
            }
            start.countDown();
            Set<Long> lcs = new HashSet<>();
            for (CompletableFuture<HttpResponse<String>> answer : answers) {
                HttpResponse<String> response = answer.get();
                assertThat(response.statusCode()).as(response.body()).isEqualTo(201);
                lcs.add(ApiClient.json(response).path("lcId").asLong());
            }
            assertThat(lcs).hasSize(clients);
        } finally {
            pool.shutdownNow();
        }

        assertThat(importsOf(a)).as("the first import and exactly one more").isEqualTo(2);
        // a request that arrives once the import is done finds the image cached: a hit
        JsonNode after = cache();
        assertThat(after.path("misses").asLong()).isGreaterThan(misses);
        assertThat(after.path("misses").asLong() - misses + after.path("hits").asLong() - hits)
                .as("every disk counted once, as a miss or a hit")
                .isEqualTo(clients);
        assertThat(image(a).path("cloneCount").asLong()).isEqualTo(clients);
        JsonNode anyDisk = ApiClient.json(api.get("/v1/disks?namePrefix=d-&pageSize=1"))
                .path("items")
                .get(0);
        assertThat(read(anyDisk)).isEqualTo(content("a"));
    }

    @Test
    void aBulkCloneOfAnUncachedImageAnswers202WithOneOperationThatImportsAndClones() throws Exception {
        String a = imported("a");
        assertThat(admin.action("/v1/images/" + a + ":evict").statusCode()).isEqualTo(204);

        HttpResponse<String> prefetch = api.action("/v1/images/" + a + ":prefetch");
        assertThat(prefetch.statusCode()).as(prefetch.body()).isEqualTo(202);
        String importId = ApiClient.json(prefetch).path("id").asString();
        assertThat(prefetch.headers().firstValue("Location")).hasValue("/v1/operations/" + importId);

        String prefix = unique("fleet");
        HttpResponse<String> batch = api.post(
                "/v1/disks:batchCreate",
                "{\"namePrefix\":\"" + prefix + "\",\"count\":20,\"sourceId\":\"" + a
                        + "\",\"labels\":{\"fleet\":\"waited\"}}");
        assertThat(batch.statusCode()).as(batch.body()).isEqualTo(202);
        JsonNode waiting = ApiClient.json(batch);
        assertThat(waiting.path("kind").asString()).isEqualTo("clone");
        assertThat(waiting.path("total").asLong()).isEqualTo(20);

        JsonNode done = api.awaitFinished(waiting.path("id").asString());
        assertThat(done.path("state").asString()).as(done.toString()).isEqualTo("succeeded");
        JsonNode disks = ApiClient.json(api.get("/v1/disks?pageSize=100&namePrefix=" + prefix));
        assertThat(disks.path("items")).hasSize(20);
        assertThat(read(disks.path("items").get(0))).isEqualTo(content("a"));
        // the labels asked for waited with the request
        assertThat(disks.path("items"))
                .allSatisfy(disk ->
                        assertThat(disk.path("labels").path("fleet").asString()).isEqualTo("waited"));
        assertThat(importsOf(a))
                .as("the prefetch's import served the bulk clone")
                .isEqualTo(2);
        assertThat(api.awaitFinished(importId).path("state").asString()).isEqualTo("succeeded");

        HttpResponse<String> warm = api.action("/v1/images/" + a + ":prefetch");
        assertThat(warm.statusCode()).isEqualTo(200);
        assertThat(ApiClient.json(warm).path("cached").asBoolean()).isTrue();
    }

    @Test
    void evictionIsForAdminsAndRefusedWhileADiskReadsTheCopyOrForAnUploadedImage() throws Exception {
        String a = imported("a");
        JsonNode disk = api.clone(a);

        assertProblem(api.action("/v1/images/" + a + ":evict"), 403, "PERMISSION_DENIED");
        HttpResponse<String> withDependents = admin.action("/v1/images/" + a + ":evict");
        assertProblem(withDependents, 409, "HAS_DEPENDENTS");
        assertThat(ApiClient.json(withDependents).path("dependents").get(0).asString())
                .isEqualTo(ApiClient.id(disk));
        String uploaded = api.availableImage(content("u"));
        assertProblem(admin.action("/v1/images/" + uploaded + ":evict"), 409, "INVALID_STATE");
        assertThat(image(uploaded).path("pinned").asBoolean()).isTrue();
        assertThat(image(uploaded).path("cached").asBoolean()).isTrue();

        api.delete("/v1/disks/" + ApiClient.id(disk));
        assertThat(admin.action("/v1/images/" + a + ":evict").statusCode()).isEqualTo(204);
        assertThat(image(a).path("cached").asBoolean()).isFalse();
        assertThat(admin.action("/v1/images/" + a + ":evict").statusCode())
                .as("evicting what is not cached does nothing")
                .isEqualTo(204);
        assertProblem(admin.action("/v1/images/img-0000000000000000:evict"), 404, "NOT_FOUND");
    }

    @Test
    void theCacheShowsItsFiguresAndExportsThemToPrometheus() throws Exception {
        String a = imported("a");
        long hits = cache().path("hits").asLong();
        api.clone(a);
        api.clone(a);

        JsonNode cache = cache();
        assertThat(cache.path("capacityBytes").asLong()).isEqualTo(CAPACITY);
        assertThat(cache.path("usedBytes").asLong()).isEqualTo(DATA);
        assertThat(cache.path("copies").asLong()).isEqualTo(1);
        assertThat(cache.path("hits").asLong()).isEqualTo(hits + 2);
        assertThat(cache.path("importsInFlight").asLong()).isZero();
        assertThat(cache.path("maxClonesPerCopy").asInt()).isEqualTo(2);
        assertThat(cache.path("copiesOverCloneLimit").asLong()).isZero();
        JsonNode view = image(a);
        assertThat(view.path("cloneCount").asLong()).isEqualTo(2);
        assertThat(view.path("lastUsedAt").asString()).isNotEmpty();

        // past the limit on a single node: counted, and no second copy is made
        api.clone(a);
        assertThat(cache().path("copiesOverCloneLimit").asLong()).isEqualTo(1);
        assertThat(image(a).path("copies").asInt()).isEqualTo(1);
        assertThat(jdbc.queryForObject("SELECT count(*) FROM operation WHERE kind = 'copy'", Long.class))
                .isZero();

        HttpResponse<String> metrics = api.get("/actuator/prometheus");
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body())
                .contains("sprig_cache_hits_total " + (double) (hits + 3))
                .contains("sprig_cache_copies_over_clone_limit 1.0")
                .contains("sprig_cache_used_bytes " + (double) DATA)
                .contains("sprig_cache_capacity_bytes " + (double) CAPACITY)
                .contains("sprig_cache_full_total")
                .containsPattern("sprig_operations_ended_total\\{kind=\"import\",outcome=\"succeeded\"} [1-9]");
        assertThat(new ApiClient(port, "").get("/actuator/prometheus").statusCode())
                .isEqualTo(401);
    }

    /** An image imported from {@code <name>.raw}, its import finished. */
    private String imported(String name) throws IOException {
        HttpResponse<String> accepted = api.post("/v1/images", source(name));
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
        JsonNode operation =
                api.awaitFinished(ApiClient.json(accepted).path("operationId").asString());
        assertThat(operation.path("state").asString()).as(operation.toString()).isEqualTo("succeeded");
        return ApiClient.id(ApiClient.json(accepted));
    }

    private static String source(String name) throws IOException {
        Path file = sources.resolve(name + ".raw");
        if (!Files.exists(file)) {
            Files.write(file, content(name));
        }
        return "{\"name\":\"" + unique(name) + "\",\"source\":{\"url\":\"" + file.toUri() + "\"}}";
    }

    /** Each image's own bytes: random in the first half of each MiB, zeros in the second. */
    static byte[] content(String name) {
        byte[] content = new byte[SIZE];
        Random random = new Random(name.hashCode());
        for (int at = 0; at < SIZE; at += MIB) {
            byte[] half = new byte[MIB / 2];
            random.nextBytes(half);
            System.arraycopy(half, 0, content, at, half.length);
        }
        return content;
    }

    private byte[] read(JsonNode disk) {
        return engine.read(disk.path("lcId").asLong(), 0, SIZE);
    }

    private JsonNode image(String id) {
        HttpResponse<String> response = api.get("/v1/images/" + id);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return ApiClient.json(response);
    }

    private JsonNode cache() {
        HttpResponse<String> response = api.get("/v1/cache");
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return ApiClient.json(response);
    }

    private long importsOf(String imageId) {
        return jdbc.queryForObject(
                "SELECT count(*) FROM operation WHERE kind = 'import' AND target_extern_id = ?", Long.class, imageId);
    }

    private long lcRows() {
        return jdbc.queryForObject("SELECT count(*) FROM lc", Long.class);
    }

    private List<Long> engineLcs() {
        return engine.list().stream().map(info -> info.lcId()).sorted().toList();
    }
}
