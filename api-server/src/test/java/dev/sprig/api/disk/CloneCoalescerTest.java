package dev.sprig.api.disk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprig.api.error.SprigException;
import dev.sprig.api.lineage.Labels;
import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourceKind;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Concurrent single clones go to the cloner together, per source and size; a taken name refuses
 * only its own request. The cloner here stands in for the database and the backend, which are not
 * what these rules are about (the ITs clone through both).
 */
class CloneCoalescerTest {

    private final ExecutorService clients = Executors.newFixedThreadPool(16);
    private final FakeCloner cloner = new FakeCloner();
    private final CloneCoalescer coalescer = new CloneCoalescer(cloner, 1);

    @AfterEach
    void stop() {
        clients.shutdownNow();
        coalescer.close();
    }

    @Test
    void aLoneRequestIsClonedAtOnceOnItsOwn() {
        Resource disk = coalescer.clone("solo", "img-a", null, Labels.NONE);

        assertThat(disk.name()).isEqualTo("solo");
        assertThat(cloner.calls).containsExactly(List.of("solo"));
    }

    @Test
    void requestsThatArriveWhileACloneCommitsGoTogetherPerSourceAndSize() throws Exception {
        cloner.holdFirstCall();
        Future<Resource> first = clients.submit(() -> coalescer.clone("first", "img-a", null, Labels.NONE));
        cloner.firstCallStarted.await(5, TimeUnit.SECONDS);
        List<Future<Resource>> waiting = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            String name = "a-" + i;
            waiting.add(clients.submit(() -> coalescer.clone(name, "img-a", null, Labels.NONE)));
        }
        for (int i = 0; i < 4; i++) {
            String name = "b-" + i;
            waiting.add(clients.submit(() -> coalescer.clone(name, "img-b", 8L << 30, Labels.NONE)));
        }
        awaitQueued(14);
        cloner.release.countDown();

        assertThat(first.get(5, TimeUnit.SECONDS).name()).isEqualTo("first");
        Set<String> names = new HashSet<>();
        for (Future<Resource> request : waiting) {
            names.add(request.get(5, TimeUnit.SECONDS).name());
        }
        assertThat(names).hasSize(14);
        assertThat(cloner.calls).hasSize(3);
        assertThat(cloner.calls.get(1)).hasSize(10).allMatch(name -> name.startsWith("a-"));
        assertThat(cloner.calls.get(2)).hasSize(4).allMatch(name -> name.startsWith("b-"));
    }

    @Test
    void requestsWithDifferentLabelsGoInGroupsOfTheirOwnEachWithItsLabels() throws Exception {
        Labels render = Labels.of(java.util.Map.of("team", "render"));
        cloner.holdFirstCall();
        Future<Resource> first = clients.submit(() -> coalescer.clone("first", "img-a", null, Labels.NONE));
        cloner.firstCallStarted.await(5, TimeUnit.SECONDS);
        List<Future<Resource>> waiting = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String name = "plain-" + i;
            waiting.add(clients.submit(() -> coalescer.clone(name, "img-a", null, Labels.NONE)));
            String labelled = "render-" + i;
            waiting.add(clients.submit(() -> coalescer.clone(labelled, "img-a", null, render)));
        }
        awaitQueued(6);
        cloner.release.countDown();

        first.get(5, TimeUnit.SECONDS);
        for (Future<Resource> request : waiting) {
            Resource disk = request.get(5, TimeUnit.SECONDS);
            assertThat(disk.labels()).isEqualTo(disk.name().startsWith("render-") ? render : Labels.NONE);
        }
        assertThat(cloner.calls).hasSize(3);
        assertThat(cloner.calls.subList(1, 3).stream().map(HashSet::new))
                .containsExactlyInAnyOrder(
                        new HashSet<>(List.of("plain-0", "plain-1", "plain-2")),
                        new HashSet<>(List.of("render-0", "render-1", "render-2")));
    }

    @Test
    void aTakenNameRefusesOnlyItsOwnRequest() throws Exception {
        cloner.taken.add("a-3");
        cloner.holdFirstCall();
        Future<Resource> first = clients.submit(() -> coalescer.clone("first", "img-a", null, Labels.NONE));
        cloner.firstCallStarted.await(5, TimeUnit.SECONDS);
        List<Future<Resource>> waiting = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            String name = "a-" + i;
            waiting.add(clients.submit(() -> coalescer.clone(name, "img-a", null, Labels.NONE)));
        }
        awaitQueued(6);
        cloner.release.countDown();
        first.get(5, TimeUnit.SECONDS);

        for (int i = 0; i < 6; i++) {
            Future<Resource> request = waiting.get(i);
            if (i == 3) {
                assertThatThrownBy(() -> request.get(5, TimeUnit.SECONDS))
                        .hasCauseInstanceOf(SprigException.AlreadyExists.class);
            } else {
                assertThat(request.get(5, TimeUnit.SECONDS).name()).isEqualTo("a-" + i);
            }
        }
    }

    @Test
    void aNameTheDatabaseRefusesFailsOnlyItsOwnRequest() throws Exception {
        cloner.refused.add("a-2");
        cloner.holdFirstCall();
        Future<Resource> first = clients.submit(() -> coalescer.clone("first", "img-a", null, Labels.NONE));
        cloner.firstCallStarted.await(5, TimeUnit.SECONDS);
        List<Future<Resource>> waiting = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            String name = "a-" + i;
            waiting.add(clients.submit(() -> coalescer.clone(name, "img-a", null, Labels.NONE)));
        }
        awaitQueued(4);
        cloner.release.countDown();
        first.get(5, TimeUnit.SECONDS);

        assertThatThrownBy(() -> waiting.get(2).get(5, TimeUnit.SECONDS))
                .hasCauseInstanceOf(IllegalArgumentException.class);
        assertThat(waiting.get(0).get(5, TimeUnit.SECONDS).name()).isEqualTo("a-0");
        assertThat(waiting.get(3).get(5, TimeUnit.SECONDS).name()).isEqualTo("a-3");
    }

    @Test
    void aFailureOfTheSourceReachesEveryRequestOfIt() {
        cloner.missingSources.add("img-gone");

        assertThatThrownBy(() -> coalescer.clone("x", "img-gone", null, Labels.NONE))
                .isInstanceOf(SprigException.NotFound.class);
        assertThat(coalescer.clone("y", "img-a", null, Labels.NONE).name()).isEqualTo("y");
    }

    private void awaitQueued(int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (coalescer.waiting() < count) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("requests did not queue");
            }
            Thread.sleep(5);
        }
    }

    /** Clones by name into fresh resources; refuses taken names and missing sources as the service does. */
    private static final class FakeCloner implements CloneCoalescer.Cloner {
        final List<List<String>> calls = Collections.synchronizedList(new ArrayList<>());
        final Set<String> taken = Collections.synchronizedSet(new HashSet<>());
        final Set<String> missingSources = new HashSet<>();
        final Set<String> refused = Collections.synchronizedSet(new HashSet<>());
        final CountDownLatch firstCallStarted = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(0);

        void holdFirstCall() {
            release = new CountDownLatch(1);
        }

        @Override
        public List<Resource> cloneAll(List<String> names, String sourceId, @Nullable Long sizeBytes, Labels labels) {
            calls.add(List.copyOf(names));
            if (calls.size() == 1) {
                firstCallStarted.countDown();
                try {
                    release.await(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (missingSources.contains(sourceId)) {
                throw SprigException.notFound("image " + sourceId);
            }
            if (names.stream().anyMatch(refused::contains)) {
                throw new IllegalArgumentException("invalid byte sequence in a name");
            }
            if (names.stream().anyMatch(taken::contains)) {
                throw SprigException.alreadyExists("a disk with one of these names");
            }
            Instant now = Instant.now();
            return names.stream()
                    .map(name -> new Resource(
                            "disk-" + name,
                            ResourceKind.DISK,
                            name,
                            1L,
                            "available",
                            1L,
                            sourceId,
                            0,
                            null,
                            now,
                            now,
                            labels))
                    .toList();
        }
    }
}
