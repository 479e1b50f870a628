package dev.sprig.api.recovery;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Which source a recovery's next copy asks first, and the permits a copy holds while it runs. */
class CopyPermitsTest {

    @Test
    void withNoCopyRunningTheSourcesKeepTheirReadOrder() {
        CopyPermits permits = new CopyPermits(2);

        assertThat(permits.leastClaimedFirst(List.of("n2", "n1", "n3"))).containsExactly("n2", "n1", "n3");
    }

    @Test
    void aSourceThatIsBusyWithAnotherCopyGoesBehindOnesThatAreNot() throws Exception {
        CopyPermits permits = new CopyPermits(2);
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService copier = Executors.newSingleThreadExecutor();
        try {
            // n1 is the target of one copy: it is busy, though it is the first in read order
            Future<Long> copy = copier.submit(() -> permits.run("n1", "n4", () -> {
                running.countDown();
                await(release);
                return 1L;
            }));
            assertThat(running.await(5, TimeUnit.SECONDS)).isTrue();

            assertThat(permits.leastClaimedFirst(List.of("n1", "n2", "n4", "n3")))
                    .containsExactly("n2", "n3", "n1", "n4");

            release.countDown();
            assertThat(copy.get(5, TimeUnit.SECONDS)).isEqualTo(1L);
            assertThat(permits.leastClaimedFirst(List.of("n1", "n2", "n4", "n3")))
                    .containsExactly("n1", "n2", "n4", "n3");
        } finally {
            copier.shutdownNow();
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
