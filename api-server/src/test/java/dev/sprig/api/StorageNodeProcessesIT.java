package dev.sprig.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The test harness's own promise: nodes that do not come up are killed, with what they started,
 * before the failure reaches the test, which never gets the object to close.
 */
class StorageNodeProcessesIT {

    @TempDir
    Path dir;

    @Test
    void nodesThatDoNotComeUpInTimeAreKilledBeforeTheStartFails() {
        Set<Long> before = liveDescendants();

        // no time at all to come up: both JVMs are launched and still starting when the wait gives up
        assertThatThrownBy(() -> new StorageNodeProcesses(2, dir, Duration.ZERO))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("did not come up");

        assertThat(dir.resolve("node1.log")).as("node 1 was launched").exists();
        assertThat(dir.resolve("node2.log")).as("node 2 was launched").exists();
        assertThat(liveDescendants()).as("no process left behind").isSubsetOf(before);
    }

    private static Set<Long> liveDescendants() {
        return ProcessHandle.current()
                .descendants()
                .filter(ProcessHandle::isAlive)
                .map(ProcessHandle::pid)
                .collect(Collectors.toSet());
    }
}
