package dev.sprig.agent.cli;

import dev.sprig.client.CreateSnapshot;
import dev.sprig.client.SnapshotView;
import dev.sprig.client.SprigApiClient;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sprig-agent snapshots create|list}. */
@Command(
        name = "snapshots",
        mixinStandardHelpOptions = true,
        description = "Snapshots: create, list.",
        subcommands = {SnapshotsCommand.CreateSnapshotCommand.class, SnapshotsCommand.ListSnapshots.class})
final class SnapshotsCommand {

    @Command(
            name = "create",
            mixinStandardHelpOptions = true,
            description = "Snapshot a disk (its bytes as they are now; the disk goes on writing on top of them);"
                    + " prints the snapshot id.")
    static final class CreateSnapshotCommand implements Callable<Integer> {

        @Mixin
        ApiOptions api;

        @Mixin
        TimeoutOptions timeouts;

        @Parameters(index = "0", paramLabel = "DISK", description = "Disk id.")
        String diskId;

        @Option(
                names = "--name",
                paramLabel = "NAME",
                description = "The snapshot's name, unique among snapshots (default: the disk id and a random suffix).")
        @Nullable
        String name;

        @Mixin
        LabelOptions labels;

        @Override
        public Integer call() throws Exception {
            String named = name != null
                    ? name
                    : diskId + "-" + UUID.randomUUID().toString().substring(0, 8);
            System.out.println(timeouts.client(api)
                    .snapshot(diskId, new CreateSnapshot(named, labels.orNull()))
                    .externId());
            return 0;
        }
    }

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            description = "List snapshots, oldest first, one a line: id, name, disk, size in bytes, creation time,"
                    + " labels (k=v,k=v), separated by tabs (cut -f1 for the ids).")
    static final class ListSnapshots implements Callable<Integer> {

        /** Snapshots a request: the pages are fetched until the last. */
        static final int PAGE = 500;

        @Mixin
        ApiOptions api;

        @Mixin
        TimeoutOptions timeouts;

        @Option(names = "--disk", paramLabel = "ID", description = "Only the snapshots of this disk.")
        String diskId;

        @Mixin
        LabelOptions labels;

        @Override
        public Integer call() throws Exception {
            SprigApiClient.Filter filter = new SprigApiClient.Filter(null, null, diskId, labels.labels());
            for (SnapshotView snapshot : timeouts.client(api).allSnapshots(filter, PAGE)) {
                System.out.println(String.join(
                        "\t",
                        snapshot.externId(),
                        snapshot.name(),
                        String.valueOf(snapshot.diskId()),
                        String.valueOf(snapshot.sizeBytes()),
                        String.valueOf(snapshot.createdAt()),
                        Labelled.text(snapshot.labels())));
            }
            return 0;
        }
    }
}
