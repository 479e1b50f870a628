package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.imageContent;
import static dev.sprig.api.ImageAndDiskApiIT.unique;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.openqa.selenium.WebElement;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The console in a real browser (Debian's chromium, headless): an operator signs in with an API
 * key, clones, snapshots and flattens from the pages, reads a disk's lineage as a tree, watches an
 * operation's progress arrive without reloading, and sees the API's own refusal when it refuses.
 */
@Import(GatedBackend.Installed.class)
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "sprig.api.api-keys=" + ConsoleIT.KEY,
            "sprig.api.admin-keys=" + ConsoleIT.ADMIN_KEY,
            "sprig.api.metrics-keys=" + ConsoleIT.METRICS_KEY
        })
class ConsoleIT {

    static final String KEY = "console-key-0123456789";
    static final String ADMIN_KEY = "console-admin-key-0123456789";
    static final String METRICS_KEY = "console-metrics-key-0123456789";
    static final int MIB = 1 << 20;

    /** Where the file: sources of imported images live. */
    static java.nio.file.Path sources;

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "console");
        sources = TestDataDirs.fresh("console-sources");
        registry.add(
                "sprig.api.image-sources.allowed-prefixes",
                () -> sources.toUri().toString());
    }

    static Browser browser;

    @LocalServerPort
    int port;

    @Autowired
    GatedBackend backend;

    ApiClient api;
    String imageId;
    String imageName;

    @RegisterExtension
    final TestWatcher screenshots = new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
            if (browser != null) {
                browser.writeScreenshots(context.getRequiredTestMethod().getName());
            }
        }

        /** {@code -Dconsole.screenshots=always}: every test's pages, to look at the console without a failure. */
        @Override
        public void testSuccessful(ExtensionContext context) {
            if (browser != null && "always".equals(System.getProperty("console.screenshots"))) {
                browser.writeScreenshots(context.getRequiredTestMethod().getName());
            }
        }
    };

    @BeforeEach
    void anImageAndAFreshBrowser() {
        api = new ApiClient(port, KEY);
        imageId = api.availableImage(imageContent(16 * MIB));
        imageName =
                ApiClient.json(api.get("/v1/images/" + imageId)).path("name").asString();
        if (browser == null) {
            browser = new Browser(port);
        }
        browser.signOutAll();
    }

    @AfterEach
    void flattensRunFreely() {
        backend.reset();
    }

    @AfterAll
    static void closeBrowser() {
        if (browser != null) {
            browser.close();
            browser = null;
        }
    }

    @Test
    void aWrongKeyIsRefusedAndTheRightOneOpensTheOverview() {
        browser.open("/console");
        assertThat(browser.url()).as("not signed in: sent to sign in").endsWith("/console/sign-in");

        browser.submit("form", "key", "not-a-key-of-ours");
        assertThat(browser.find("#refused").getText()).isEqualTo("That API key is not valid.");

        signIn(KEY);
        assertThat(browser.url()).endsWith("/console").doesNotContain(KEY);
        assertThat(browser.find("h1").getText()).isEqualTo("Overview");
        long images = ApiClient.json(api.get("/v1/images?pageSize=1000"))
                .path("items")
                .size();
        assertThat(browser.find("#images-count .figure").getText().replace(",", ""))
                .isEqualTo(Long.toString(images));
        // nodes by state, as GET /v1/nodes has them (none, or the ones another test registered)
        Map<String, Integer> byState = overviewBetweenTwoEqualNodeCounts();
        if (byState.isEmpty()) {
            assertThat(browser.find("#nodes").getText()).contains("None registered");
        }
        byState.forEach((state, count) ->
                assertThat(browser.find("#nodes li." + state).getText()).isEqualTo(count + " " + state));
        assertThat(browser.find("#cache").getText()).contains("Hit ratio");

        browser.click("header form.who button");
        assertThat(browser.url()).contains("/console/sign-in?signedOut");
        browser.open("/console/disks");
        assertThat(browser.url()).as("signed out: the session opens nothing").endsWith("/console/sign-in");
    }

    @Test
    void aDiskClonedFromItsImagesPageShowsItsLineageWithTheImageAndASnapshot() {
        signIn(KEY);
        browser.open("/console/images?namePrefix=" + imageName);
        browser.click("#images a[href='/console/images/" + imageId + "']");
        assertThat(browser.find("#image-id").getText()).isEqualTo(imageId);

        String diskName = unique("console-disk");
        browser.submit("#clone-one", "name", diskName);
        assertThat(browser.find("#notice").getText()).contains("Disk " + diskName + " cloned.");
        String diskId = browser.find("#disk-id").getText();
        assertThat(ApiClient.json(api.get("/v1/disks/" + diskId)).path("name").asString())
                .isEqualTo(diskName);

        String snapshotName = unique("before-upgrade");
        browser.submit("#snapshot", "name", snapshotName);
        assertThat(browser.find("#notice").getText()).contains("Snapshot " + snapshotName + " taken.");

        // image → snapshot → the disk, highlighted; each a link to its own page
        WebElement tree = browser.find("#lineage");
        List<String> chain = browser.all("#lineage .node a").stream()
                .map(WebElement::getText)
                .toList();
        assertThat(chain).startsWith("image " + imageName, "snapshot " + snapshotName, "disk " + diskName);
        assertThat(tree.findElement(org.openqa.selenium.By.cssSelector(".node.subject"))
                        .getText())
                .isEqualTo("disk " + diskName);
        browser.click("#lineage a.snapshot");
        assertThat(browser.find("h1").getText()).isEqualTo("Snapshot " + snapshotName);
        browser.click("#lineage a.image");
        assertThat(browser.find("#image-id").getText()).isEqualTo(imageId);
    }

    @Test
    void aFlattenStartedFromTheDiskPageShowsItsProgressLiveUntilItEnds() throws Exception {
        String diskId = ApiClient.id(api.clone(imageId));
        signIn(KEY);
        browser.open("/console/disks/" + diskId);

        try (GatedBackend.Hold hold = backend.holdFlattens()) {
            browser.click("#flatten button");
            hold.awaitHeld();
            assertThat(browser.url()).contains("/console/operations/op-");
            // a mark on this page: gone if the page were loaded again rather than updated in place
            browser.script("window.sprigMark = 'no reload';");
            // the progress is swapped in anew every second: each read finds it again
            assertThat(browser.attribute(".progress", "data-state")).isEqualTo("running");
            assertThat(browser.text(".progress .done")).matches("[01] of 4 pcs");
            browser.shot("flatten held after its first PC");
            String operation = browser.url().substring(browser.url().lastIndexOf('/') + 1);
            assertThat(new ConsoleSession(port, KEY).page("/console"))
                    .as("the overview lists it among the running operations, its progress polled")
                    .contains("href=\"/console/operations/" + operation + "\"", "hx-trigger=\"every 1s\"");
            hold.releaseAndAwaitEnd();
        }

        browser.await(
                Duration.ofSeconds(10),
                page -> browser.find(".progress").getAttribute("data-state").equals("succeeded"));
        browser.shot("flatten finished");
        assertThat(browser.text(".progress .done")).isEqualTo("4 of 4 pcs");
        assertThat(browser.attribute(".progress progress", "value"))
                .isEqualTo(browser.attribute(".progress progress", "max"));
        assertThat(browser.script("return window.sprigMark;")).isEqualTo("no reload");
        assertThat(browser.attribute(".progress", "hx-trigger"))
                .as("a finished operation is not polled any more")
                .isEmpty();
        browser.click("main dl a[href='/console/disks/" + diskId + "']");
        assertThat(browser.find("#lineage > li > .node").getAttribute("class"))
                .as("flattened, the disk reads from no ancestor: its tree is itself")
                .contains("subject");
    }

    @Test
    void deletingAnImageThatDisksReadFromIsRefusedWithTheApisOwnWords() {
        ApiClient.id(api.clone(imageId));
        HttpResponse<String> byApi = api.delete("/v1/images/" + imageId);
        assertThat(byApi.statusCode()).isEqualTo(409);
        String detail = ApiClient.json(byApi).path("detail").asString();

        signIn(KEY);
        browser.open("/console/images/" + imageId);
        browser.click("#delete-image button");

        assertThat(browser.url()).endsWith("/console/images/" + imageId);
        assertThat(browser.find("#notice strong").getText()).isEqualTo("409 HAS_DEPENDENTS");
        assertThat(browser.find("#notice .text").getText()).isEqualTo(detail);
        assertThat(api.get("/v1/images/" + imageId).statusCode()).isEqualTo(200);
    }

    @Test
    void aBatchClonedFromTheImagePageListsItsDisks() {
        signIn(KEY);
        browser.open("/console/images/" + imageId);
        String prefix = unique("fleet");

        browser.submit("#clone-batch", "count", "5", "namePrefix", prefix);

        assertThat(browser.find("#notice").getText()).contains("5 disks cloned.");
        // one transaction: they share a creation time, and list in id order after it
        assertThat(browser.all("#disks tbody a").stream()
                        .map(WebElement::getText)
                        .toList())
                .containsExactlyInAnyOrder(
                        prefix + "-0001", prefix + "-0002", prefix + "-0003", prefix + "-0004", prefix + "-0005");
    }

    @Test
    void adminActionsNeedAnAdminKeyAsTheyDoInTheApi() {
        signIn(KEY);
        browser.open("/console/images/" + imageId);
        assertThat(browser.all("form[action$='/evict']"))
                .as("no evict button for a client key")
                .isEmpty();

        signIn(ADMIN_KEY);
        browser.open("/console/images/" + imageId);
        browser.click("form[action$='/evict'] button");
        assertThat(browser.find("#notice").getText())
                .as("an uploaded image is pinned: the API's refusal")
                .contains("409 INVALID_STATE");
    }

    @Test
    void anImportedImageIsEvictedAndPrefetchedAgainFromItsPage() throws Exception {
        java.nio.file.Path file =
                java.nio.file.Files.write(sources.resolve(unique("imported") + ".raw"), imageContent(8 * MIB));
        HttpResponse<String> accepted = api.post(
                "/v1/images",
                "{\"name\":\"" + unique("imported") + "\",\"source\":{\"url\":\"" + file.toUri() + "\"}}");
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
        String imported = ApiClient.id(ApiClient.json(accepted));
        api.awaitFinished(ApiClient.json(accepted).path("operationId").asString());

        signIn(ADMIN_KEY);
        browser.open("/console/images/" + imported);
        assertThat(browser.find("#cache-state").getText()).startsWith("cached, 1 copies");
        browser.click("form[action$='/evict'] button");
        assertThat(browser.find("#notice").getText()).isEqualTo("Evicted from the cache.");
        assertThat(browser.find("#cache-state").getText()).startsWith("not cached, 0 copies");

        browser.click("form[action$='/prefetch'] button");
        assertThat(browser.url()).contains("/console/operations/op-");
        assertThat(browser.find("main dl").getText()).contains("import", imported);
        browser.await(
                Duration.ofSeconds(30),
                page -> browser.find(".progress").getAttribute("data-state").equals("succeeded"));
        assertThat(browser.text(".progress .done")).isEqualTo("8388608 of 8388608 bytes");
        browser.open("/console/images/" + imported);
        assertThat(browser.find("#cache-state").getText()).startsWith("cached, 1 copies");
    }

    @Test
    void aFormWithoutItsCsrfTokenIsRefusedAndTheConsoleSessionOpensNoApi() throws Exception {
        ConsoleSession console = new ConsoleSession(port, KEY);
        assertThat(console.cookie()).as("a new session at sign-in").isNotEqualTo(console.cookieBeforeSignIn());

        HttpResponse<String> forged = console.postWithoutToken("/console/images/" + imageId + "/delete");
        assertThat(forged.statusCode()).isEqualTo(403);
        assertThat(forged.body()).contains("CSRF token");
        assertThat(api.get("/v1/images/" + imageId).statusCode()).isEqualTo(200);

        assertThat(console.get("/console/images").statusCode())
                .as("the session itself is good")
                .isEqualTo(200);
        HttpResponse<String> unknown = console.get("/console/disks/disk-0000000000000000");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(unknown.body()).contains("404 NOT_FOUND", "disk disk-0000000000000000");
        HttpResponse<String> byCookie = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/images"))
                                .header("Cookie", console.cookie())
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(byCookie.statusCode())
                .as("the API takes keys, not the console's cookie")
                .isEqualTo(401);
    }

    @Test
    void aMetricsKeyReadsTheMetricsAndOpensNothingElseNotEvenTheConsole() {
        ApiClient prometheus = api.withKey(METRICS_KEY);
        HttpResponse<String> metrics = prometheus.get("/actuator/prometheus");
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body()).contains("sprig_cache_capacity_bytes");

        HttpResponse<String> disks = prometheus.get("/v1/disks");
        ImageAndDiskApiIT.assertProblem(disks, 403, "PERMISSION_DENIED");
        assertThat(ApiClient.json(disks).path("detail").asString())
                .isEqualTo("a metrics key (sprig.api.metrics-keys) reads /actuator/prometheus and nothing else");
        assertThat(prometheus.delete("/v1/images/" + imageId).statusCode()).isEqualTo(403);
        assertThat(api.get("/v1/images/" + imageId).statusCode()).isEqualTo(200);

        browser.open("/console/sign-in");
        browser.submit("form", "key", METRICS_KEY);
        assertThat(browser.find("#refused").getText())
                .isEqualTo("A metrics key reads /actuator/prometheus only: sign in with an API key.");
        browser.open("/console");
        assertThat(browser.url()).endsWith("/console/sign-in");
    }

    @Test
    void formsTheApiWouldRefuseAreRefusedOnThePageWithTheApisWordsNeverWithA500() {
        ConsoleSession console = new ConsoleSession(port, KEY);
        String page = "/console/images/" + imageId;

        HttpResponse<String> blank = console.post(page, page + "/clone", "name=%20%20%20");
        assertThat(blank.statusCode()).isEqualTo(302);
        assertThat(console.page(page)).contains("400 INVALID_ARGUMENT", "name must not be blank");

        HttpResponse<String> longPrefix =
                console.post(page, page + "/clone-batch", "count=2&namePrefix=" + "p".repeat(101));
        assertThat(longPrefix.statusCode()).isEqualTo(302);
        assertThat(console.page(page)).contains("namePrefix must be at most 100 characters");

        HttpResponse<String> control = console.post(page, page + "/clone", "name=a%01b");
        assertThat(control.statusCode()).isEqualTo(302);
        assertThat(console.page(page)).contains("name must not contain control characters");

        HttpResponse<String> notAnId = console.post(page, "/console/images/%7Bx%7D/clone", "name=x");
        assertThat(notAnId.statusCode()).isEqualTo(404);
        assertThat(notAnId.body()).contains("404 NOT_FOUND");
    }

    @Test
    void theNodesPageAndItsDrainAreAnAdminKeysOnly() {
        // a registration as a storage node sends it (no process behind it: the page is what is tested)
        ApiClient admin = api.withKey(ADMIN_KEY);
        String nodeId = "console-node-" + unique("n").substring(2, 10);
        String registration = ApiClient.JSON.writeValueAsString(new dev.sprig.client.RegisterNode(
                "http://127.0.0.1:9", "127.0.0.1", 10809, "console-node-token-0123456789", 1L << 30, 0L));
        assertThat(admin.registerNode(nodeId, registration).statusCode()).isIn(200, 201);

        // the node registry is an admin key's, in the console as in the API (GET /v1/nodes)
        ConsoleSession client = new ConsoleSession(port, KEY);
        assertThat(client.page("/console")).doesNotContain("href=\"/console/nodes\"");
        HttpResponse<String> page = client.get("/console/nodes");
        assertThat(page.statusCode()).isEqualTo(403);
        assertThat(page.body())
                .contains("403 PERMISSION_DENIED", "needs an admin key")
                .doesNotContain(nodeId);
        HttpResponse<String> refused = client.post("/console", "/console/nodes/" + nodeId + "/drain", "");
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(refused.body()).contains("needs an admin key");
        assertThat(ApiClient.json(admin.get("/v1/nodes/" + nodeId))
                        .path("draining")
                        .asBoolean())
                .isFalse();

        signIn(ADMIN_KEY);
        browser.open("/console/nodes");
        assertThat(browser.find("#node-" + nodeId + " .state").getText()).isEqualTo("up");
        browser.click("#node-" + nodeId + " form[action$='/drain'] button");
        assertThat(browser.find("#notice").getText()).contains("Node " + nodeId + " drains");
        assertThat(browser.find("#node-" + nodeId + " .state").getText()).isEqualTo("draining");
        assertThat(ApiClient.json(admin.get("/v1/nodes/" + nodeId))
                        .path("draining")
                        .asBoolean())
                .isTrue();
        browser.click("#node-" + nodeId + " form[action$='/undrain'] button");
        assertThat(browser.find("#node-" + nodeId + " .state").getText()).isEqualTo("up");
    }

    /**
     * Opens the overview between two reads of GET /v1/nodes that agree, and returns what they say. A
     * state follows the age of a node's last heartbeat, so a node another test registered can turn
     * unreachable between the page and the API; only counts that held before and after the page are
     * the page's to show.
     */
    private Map<String, Integer> overviewBetweenTwoEqualNodeCounts() {
        for (int attempt = 1; ; attempt++) {
            Map<String, Integer> before = nodesByState();
            browser.open("/console");
            Map<String, Integer> after = nodesByState();
            if (before.equals(after) || attempt == 5) {
                assertThat(after)
                        .as("node states settle for the length of a page load")
                        .isEqualTo(before);
                return after;
            }
        }
    }

    private Map<String, Integer> nodesByState() {
        Map<String, Integer> byState = new TreeMap<>();
        ApiClient.json(api.withKey(ADMIN_KEY).get("/v1/nodes"))
                .path("items")
                .forEach(node -> byState.merge(node.path("state").asString(), 1, Integer::sum));
        return byState;
    }

    private void signIn(String key) {
        browser.signOutAll();
        browser.open("/console/sign-in");
        browser.submit("form", "key", key);
    }
}
