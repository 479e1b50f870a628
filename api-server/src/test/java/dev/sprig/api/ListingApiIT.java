package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.assertProblem;
import static dev.sprig.api.ImageAndDiskApiIT.imageContent;
import static dev.sprig.api.ImageAndDiskApiIT.unique;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/** Listing what exists: a disk's snapshots, all snapshots, disks by their source and operations, a page at a time. */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "sprig.api.api-keys=" + ListingApiIT.KEY)
class ListingApiIT {

    static final String KEY = "listing-key-0123456789";

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "listing-api");
    }

    @LocalServerPort
    int port;

    ApiClient api;
    String imageId;

    @BeforeEach
    void anAvailableImage() {
        api = new ApiClient(port, KEY);
        imageId = api.availableImage(imageContent(1 << 20));
    }

    @Test
    void aDisksSnapshotsAreListedInCreationOrderAPageAtATime() {
        String disk = ApiClient.id(api.clone(imageId));
        String other = ApiClient.id(api.clone(imageId));
        String prefix = unique("nightly");
        List<String> taken = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            taken.add(snapshot(disk, prefix + "-" + i));
        }
        String elsewhere = snapshot(other, prefix + "-other");

        JsonNode first = ApiClient.json(api.get("/v1/disks/" + disk + "/snapshots?pageSize=2"));
        String token = first.path("nextPageToken").asString();
        JsonNode second = ApiClient.json(api.get("/v1/disks/" + disk + "/snapshots?pageSize=2&pageToken=" + token));

        assertThat(ids(first)).containsExactly(taken.get(0), taken.get(1));
        assertThat(ids(second)).containsExactly(taken.get(2));
        assertThat(second.path("nextPageToken").isNull()).isTrue();
        assertThat(first.path("items").get(0).path("diskId").asString()).isEqualTo(disk);
        assertThat(ids(ApiClient.json(api.get("/v1/snapshots?diskId=" + disk)))).isEqualTo(taken);
        assertThat(ids(ApiClient.json(api.get("/v1/snapshots?namePrefix=" + prefix))))
                .containsExactly(taken.get(0), taken.get(1), taken.get(2), elsewhere);
        assertThat(ids(ApiClient.json(api.get("/v1/snapshots?namePrefix=" + prefix + "-1"))))
                .containsExactly(taken.get(1));
    }

    @Test
    void theSnapshotsOfADiskThatDoesNotExistAreNotFoundNotAnEmptyPage() {
        assertProblem(api.get("/v1/disks/disk-0000000000000000/snapshots"), 404, "NOT_FOUND");
        assertProblem(api.get("/v1/snapshots?diskId=disk-0000000000000000"), 404, "NOT_FOUND");
        assertProblem(api.get("/v1/snapshots?pageToken=not-a-token"), 400, "INVALID_ARGUMENT");
    }

    @Test
    void disksAreListedByTheImageSnapshotOrDiskTheyWereClonedFrom() {
        String disk = ApiClient.id(api.clone(imageId));
        String snapshot = snapshot(disk, unique("golden"));
        List<String> fromSnapshot = List.of(
                ApiClient.id(api.clone(snapshot)),
                ApiClient.id(api.clone(snapshot)),
                ApiClient.id(api.clone(snapshot)));
        String fromDisk = ApiClient.id(api.clone(disk));

        assertThat(ids(ApiClient.json(api.get("/v1/disks?sourceId=" + snapshot))))
                .isEqualTo(fromSnapshot);
        assertThat(ids(ApiClient.json(api.get("/v1/disks?sourceId=" + snapshot + "&pageSize=2"))))
                .isEqualTo(fromSnapshot.subList(0, 2));
        assertThat(ids(ApiClient.json(api.get("/v1/disks?sourceId=" + imageId))))
                .contains(disk);
        // a clone of a disk reads from a snapshot-like frozen lc, but its source is the disk it named
        assertThat(ids(ApiClient.json(api.get("/v1/disks?sourceId=" + disk)))).containsExactly(fromDisk);
        assertThat(ids(ApiClient.json(api.get("/v1/disks?sourceId=img-0000000000000000"))))
                .isEmpty();
    }

    @Test
    void operationsAreListedNewestFirstByResourceKindAndStateAPageAtATime() throws Exception {
        List<String> disks = new ArrayList<>();
        List<String> flattens = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String disk = ApiClient.id(api.clone(imageId));
            disks.add(disk);
            flattens.add(ApiClient.json(api.action("/v1/disks/" + disk + ":flatten"))
                    .path("id")
                    .asString());
        }
        for (String operation : flattens) {
            awaitFinished(operation);
        }

        JsonNode ofOne = ApiClient.json(api.get("/v1/operations?targetId=" + disks.get(1)));
        assertThat(ids(ofOne, "id")).containsExactly(flattens.get(1));
        assertThat(ofOne.path("items").get(0).path("targetId").asString()).isEqualTo(disks.get(1));

        List<String> pages = new ArrayList<>();
        String token = null;
        do {
            JsonNode page = ApiClient.json(api.get("/v1/operations?kind=flatten&state=succeeded&pageSize=2"
                    + (token == null ? "" : "&pageToken=" + token)));
            assertThat(page.path("items").size()).isLessThanOrEqualTo(2);
            pages.addAll(ids(page, "id"));
            token = page.path("nextPageToken").isNull()
                    ? null
                    : page.path("nextPageToken").asString();
        } while (token != null);
        assertThat(pages).doesNotHaveDuplicates();
        // newest first: the three flattens of this test, last started first, ahead of older ones
        assertThat(pages.subList(0, 3)).containsExactly(flattens.get(2), flattens.get(1), flattens.get(0));
        assertThat(ids(ApiClient.json(api.get("/v1/operations?targetId=" + disks.get(0) + "&state=running")), "id"))
                .isEmpty();
        assertProblem(api.get("/v1/operations?pageToken=forged"), 400, "INVALID_ARGUMENT");
    }

    /** Waits for the operation to finish, and fails unless it succeeded. */
    private void awaitFinished(String operation) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        JsonNode now;
        while ((now = ApiClient.json(api.get("/v1/operations/" + operation)))
                .path("state")
                .asString()
                .equals("running")) {
            assertThat(System.nanoTime()).as("operation %s finished", operation).isLessThan(deadline);
            Thread.sleep(100);
        }
        assertThat(now.path("state").asString()).as(now.toString()).isEqualTo("succeeded");
    }

    private String snapshot(String disk, String name) {
        return ApiClient.id(
                ApiClient.json(api.post("/v1/disks/" + disk + "/snapshots", "{\"name\":\"" + name + "\"}")));
    }

    private static List<String> ids(JsonNode page) {
        return ids(page, "externId");
    }

    private static List<String> ids(JsonNode page, String field) {
        List<String> ids = new ArrayList<>();
        page.path("items").forEach(item -> ids.add(item.path(field).asString()));
        return ids;
    }
}
