package dev.sprig.agent.cli;

import dev.sprig.client.SnapshotView;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code sprig-agent snapshots list}. */
@Command(
        name = "snapshots",
        mixinStandardHelpOptions = true,
        description = "Snapshots.",
        subcommands = SnapshotsCommand.ListSnapshots.class)
final class SnapshotsCommand {

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            description = "List snapshots, oldest first, one a line: id, name, disk, size in bytes, creation time,"
                    + " separated by tabs (cut -f1 for the ids).")
    static final class ListSnapshots implements Callable<Integer> {

        /** Snapshots a request: the pages are fetched until the last. */
        static final int PAGE = 500;

        @Mixin
        ApiOptions api;

        @Mixin
        TimeoutOptions timeouts;

        @Option(names = "--disk", paramLabel = "ID", description = "Only the snapshots of this disk.")
        String diskId;

        @Override
        public Integer call() throws Exception {
            for (SnapshotView snapshot : timeouts.client(api).allSnapshots(diskId, PAGE)) {
                System.out.println(String.join(
                        "\t",
                        snapshot.externId(),
                        snapshot.name(),
                        String.valueOf(snapshot.diskId()),
                        String.valueOf(snapshot.sizeBytes()),
                        String.valueOf(snapshot.createdAt())));
            }
            return 0;
        }
    }
}
