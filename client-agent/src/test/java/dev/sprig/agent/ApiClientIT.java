package dev.sprig.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.sprig.client.ApiException;
import dev.sprig.client.CreateDisk;
import dev.sprig.client.CreateImage;
import dev.sprig.client.CreateSnapshot;
import dev.sprig.client.DiskView;
import dev.sprig.client.ImageView;
import dev.sprig.client.Lineage;
import dev.sprig.client.OperationView;
import dev.sprig.client.SnapshotView;
import dev.sprig.client.SprigApiClient;
import dev.sprig.client.SprigApiClient.Filter;
import dev.sprig.client.UpdateLabels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The typed client (api-client) against a real api-server: the calls beyond those the agent's own
 * commands make — reads, listings with filters and labels, label patches, flatten and its operation,
 * the typed lineage, deletions with dependents, and the admin calls' refusals on the embedded backend.
 */
class ApiClientIT {

    static final int MIB = 1 << 20;

    static ApiServerProcess apiServer;
    static SprigApiClient client;
    static SprigApiClient admin;
    static String image;

    @BeforeAll
    static void start() throws Exception {
        apiServer = ApiServerProcess.start("api-client");
        Duration wait = Duration.ofSeconds(30);
        client = new SprigApiClient(apiServer.uri(), ApiServerProcess.KEY, new SprigApiClient.Timeouts(wait, wait));
        admin = new SprigApiClient(
                apiServer.uri(), ApiServerProcess.ADMIN_KEY, new SprigApiClient.Timeouts(wait, wait));
        Path file = apiServer.dir.resolve("image.raw");
        Files.write(file, AgentServeIT.imageContent(8 * MIB));
        image = client.createImage(
                        new CreateImage(SprigApi.unique("img"), 8L * MIB, null, null, null, Map.of("os", "debian-12")))
                .externId();
        client.upload(image, file, sent -> {});
    }

    @AfterAll
    static void stop() throws Exception {
        if (apiServer != null) {
            apiServer.close();
        }
    }

    @Test
    void imagesAreReadListedByLabelRelabelledAndPrefetched() throws Exception {
        ImageView read = client.getImage(image);
        assertThat(read.state()).isEqualTo("available");
        assertThat(read.labels()).containsExactly(Map.entry("os", "debian-12"));

        ImageView relabelled = client.relabelImage(image, new UpdateLabels(Map.of("arch", "amd64")));

        assertThat(relabelled.labels()).containsOnly(Map.entry("os", "debian-12"), Map.entry("arch", "amd64"));
        assertThat(client.allImages(Filter.ALL.withLabel("os", "debian-12").withLabel("arch", "amd64"), 1))
                .extracting(ImageView::externId)
                .containsExactly(image);
        assertThat(client.images(Filter.ALL.withLabel("os", "other"), 10, null).items())
                .isEmpty();
        assertThat(client.prefetch(image)).isInstanceOf(SprigApiClient.Prefetch.Cached.class);
    }

    @Test
    void disksAndSnapshotsCarryLabelsAndAreFilteredByThem() throws Exception {
        String fleet = SprigApi.unique("fleet");
        for (int i = 0; i < 3; i++) {
            client.createDisk(new CreateDisk(fleet + "-" + i, image, null, Map.of("fleet", fleet)));
        }
        DiskView other = client.createDisk(new CreateDisk(SprigApi.unique("other"), image));

        assertThat(client.allDisks(Filter.ALL.withLabel("fleet", fleet), 2))
                .extracting(DiskView::name)
                .containsExactly(fleet + "-0", fleet + "-1", fleet + "-2");
        assertThat(client.allDisks(Filter.ALL.withSource(image).withLabel("fleet", fleet), 100))
                .hasSize(3);
        Map<String, String> remove = new HashMap<>();
        remove.put("fleet", null);
        remove.put("owner", "ops");
        DiskView moved = client.relabelDisk(
                client.allDisks(Filter.namePrefix(fleet + "-2"), 10).get(0).externId(), new UpdateLabels(remove));
        assertThat(moved.labels()).containsExactly(Map.entry("owner", "ops"));
        assertThat(client.allDisks(Filter.ALL.withLabel("fleet", fleet), 100)).hasSize(2);
        assertThat(client.getDisk(moved.externId()).labels()).containsExactly(Map.entry("owner", "ops"));

        SnapshotView snapshot =
                client.snapshot(other.externId(), new CreateSnapshot(SprigApi.unique("snap"), Map.of("kept", "yes")));
        assertThat(client.getSnapshot(snapshot.externId()).labels()).containsExactly(Map.entry("kept", "yes"));
        assertThat(client.snapshotsOf(other.externId(), Filter.ALL.withLabel("kept", "yes"), 10, null)
                        .items())
                .extracting(SnapshotView::externId)
                .containsExactly(snapshot.externId());
        assertThat(client.allSnapshots(Filter.ALL.withSource(other.externId()), 10))
                .hasSize(1);
        assertThat(client.relabelSnapshot(snapshot.externId(), new UpdateLabels(Map.of("kept", "no")))
                        .labels())
                .containsExactly(Map.entry("kept", "no"));
    }

    @Test
    void aFlattenIsFollowedToItsEndAndTheTypedLineageShowsTheDiskAlone() throws Exception {
        DiskView disk = client.createDisk(new CreateDisk(SprigApi.unique("flat"), image));
        Lineage before = client.lineageOf(disk.externId());
        assertThat(before.chain()).hasSize(2);
        assertThat(before.chain().get(1).externId()).isEqualTo(image);
        assertThat(before.chain().get(1).kind()).isEqualTo("image");

        OperationView flatten = client.flatten(disk.externId());
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (client.operation(flatten.id()).state().equals("running") && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }

        assertThat(client.operation(flatten.id()).state()).isEqualTo("succeeded");
        assertThat(client.operations("flatten", null, disk.externId(), 10, null).items())
                .extracting(OperationView::id)
                .containsExactly(flatten.id());
        assertThat(client.lineageOf(disk.externId()).chain()).hasSize(1);
        ApiException finished = catchThrowableOfType(ApiException.class, () -> client.cancel(flatten.id()));
        assertThat(finished.status()).isEqualTo(409);
    }

    @Test
    void deletionsWithDependentsAreRefusedNamingThemOrDeferred() throws Exception {
        DiskView disk = client.createDisk(new CreateDisk(SprigApi.unique("parent"), image));
        SnapshotView snapshot = client.snapshot(disk.externId(), new CreateSnapshot(SprigApi.unique("snap")));
        DiskView clone = client.createDisk(new CreateDisk(SprigApi.unique("child"), snapshot.externId()));

        ApiException refused =
                catchThrowableOfType(ApiException.class, () -> client.deleteSnapshot(snapshot.externId(), false));

        assertThat(refused.status()).isEqualTo(409);
        // the disk reads from it too: it writes on top of the snapshot
        assertThat(refused.problem().dependents()).containsExactlyInAnyOrder(disk.externId(), clone.externId());
        assertThat(client.descendants(image).descendants()).contains(disk.externId(), clone.externId());
        ApiException imageRefused = catchThrowableOfType(ApiException.class, () -> client.deleteImage(image, false));
        assertThat(imageRefused.problem().code()).isEqualTo("HAS_DEPENDENTS");
        client.deleteSnapshot(snapshot.externId(), true);
        ApiException hidden = catchThrowableOfType(ApiException.class, () -> client.getSnapshot(snapshot.externId()));
        assertThat(hidden.status()).isEqualTo(404);
    }

    @Test
    void theAdminCallsReachApiServerAndAreRefusedWhereTheEmbeddedBackendHasNoNodes() throws Exception {
        assertThat(admin.nodes().items()).isNotNull();
        ApiException scrub = catchThrowableOfType(ApiException.class, () -> admin.scrub());
        assertThat(scrub.status()).isEqualTo(409);
        ApiException notAdmin = catchThrowableOfType(ApiException.class, () -> client.drain("n1"));
        assertThat(notAdmin.status()).isEqualTo(403);
        ApiException unknown = catchThrowableOfType(ApiException.class, () -> admin.node("n-unknown"));
        assertThat(unknown.status()).isEqualTo(404);
    }
}
