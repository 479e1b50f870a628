package dev.sprig.agent.cli;

import dev.sprig.agent.route.AttachedDisks;
import dev.sprig.agent.route.Attachments;
import dev.sprig.agent.route.NodeChannels;
import dev.sprig.client.BatchCreate;
import dev.sprig.client.CreateDisk;
import dev.sprig.client.DiskView;
import dev.sprig.client.OperationView;
import dev.sprig.client.ResizeDisk;
import dev.sprig.client.RevertDisk;
import dev.sprig.client.SprigApiClient;
import dev.sprig.client.Wire;
import dev.sprig.nbd.server.AsyncNbdDisk;
import dev.sprig.nbd.server.NbdExport;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sprig-agent disks clone|list|resize|revert|detach|lineage|export}. */
@Command(
        name = "disks",
        mixinStandardHelpOptions = true,
        description = "Disks: clone, list, resize, revert, detach, lineage, export.",
        subcommands = {
            DisksCommand.Clone.class,
            DisksCommand.ListDisks.class,
            DisksCommand.Resize.class,
            DisksCommand.Revert.class,
            DisksCommand.Detach.class,
            DisksCommand.Lineage.class,
            DisksCommand.Export.class
        })
final class DisksCommand {

    @Command(
            name = "clone",
            mixinStandardHelpOptions = true,
            description = "Clone an image or snapshot; prints one disk id per line. Several clones of an image"
                    + " that is not cached wait for its import (see --wait).")
    static final class Clone implements Callable<Integer> {

        /** How often a clone waiting for its image's import asks how it goes. */
        static final Duration POLL_EVERY = Duration.ofSeconds(1);

        @Mixin
        ApiOptions api;

        @Mixin
        TimeoutOptions timeouts;

        @Parameters(paramLabel = "SOURCE", description = "Image or snapshot id to clone.")
        String source;

        @Option(names = "--count", defaultValue = "1", description = "How many disks (default: 1; up to 5000).")
        int count;

        @Option(names = "--name", description = "Name, or name prefix with --count (default: clone-<random>).")
        String name;

        @Mixin
        LabelOptions labels;

        @Option(
                names = "--wait",
                negatable = true,
                defaultValue = "true",
                fallbackValue = "true",
                description = "When api-server answers 202 (the image is being imported first), poll the operation"
                        + " until it has finished and print the disks (the default); with --no-wait, print the"
                        + " operation's id instead.")
        boolean wait;

        @Override
        public Integer call() throws Exception {
            String prefix = name != null
                    ? name
                    : "clone-" + UUID.randomUUID().toString().substring(0, 8);
            SprigApiClient client = timeouts.client(api);
            if (count == 1) {
                System.out.println(client.createDisk(new CreateDisk(prefix, source, null, labels.orNull()))
                        .externId());
                return 0;
            }
            SprigApiClient.Batch batch =
                    client.batchCreate(new BatchCreate(source, count, prefix, null, labels.orNull()));
            if (batch instanceof SprigApiClient.Batch.Created created) {
                created.disks().forEach(disk -> System.out.println(disk.externId()));
                return 0;
            }
            String operation =
                    ((SprigApiClient.Batch.Waiting) batch).operation().id();
            System.err.println("sprig-agent: " + source + " is being imported first: operation " + operation);
            if (!wait) {
                System.out.println(operation);
                return 0;
            }
            OperationView finished = awaitFinished(client, operation);
            if (!finished.succeeded()) {
                System.err.println("sprig-agent: operation " + operation + " "
                        + finished.state()
                        + ": " + orEmpty(finished.error()) + " ("
                        + orEmpty(finished.errorCode())
                        + ")");
                return 1;
            }
            List<String> disks = batchDisks(client, source, prefix);
            if (disks.size() != count) {
                System.err.println("sprig-agent: operation " + operation + " succeeded, but " + disks.size()
                        + " disks named " + prefix + "-… of " + source + " exist, not " + count);
                return 1;
            }
            disks.forEach(System.out::println);
            return 0;
        }

        private static OperationView awaitFinished(SprigApiClient client, String operation) throws Exception {
            while (true) {
                OperationView now = client.operation(operation);
                if (!now.running()) {
                    return now;
                }
                Thread.sleep(POLL_EVERY.toMillis());
            }
        }

        /**
         * The disks a batch clone of {@code source} made, named {@code prefix-0001} …, in name order:
         * what a clone that waited for its image's import made, once its operation has succeeded.
         */
        private static List<String> batchDisks(SprigApiClient client, String source, String prefix) throws IOException {
            return client.allDisks(prefix + "-", 1000).stream()
                    .filter(disk -> source.equals(disk.sourceId()))
                    .filter(disk -> disk.name().substring(prefix.length() + 1).matches("[0-9]+"))
                    .sorted(Comparator.comparing(DiskView::name))
                    .map(DiskView::externId)
                    .toList();
        }

        private static String orEmpty(@Nullable String text) {
            return text == null ? "" : text;
        }
    }

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            description = "List disks, oldest first, one a line: id, name, source, size in bytes, state, labels"
                    + " (k=v,k=v), separated by tabs (cut -f1 for the ids).")
    static final class ListDisks implements Callable<Integer> {

        /** Disks a request: the pages are fetched until the last. */
        static final int PAGE = 1000;

        @Mixin
        ApiOptions api;

        @Mixin
        TimeoutOptions timeouts;

        @Mixin
        LabelOptions labels;

        @Option(names = "--name-prefix", paramLabel = "PREFIX", description = "Only disks whose name starts so.")
        @Nullable
        String namePrefix;

        @Option(
                names = "--source",
                paramLabel = "ID",
                description = "Only disks cloned from this image, snapshot or disk.")
        @Nullable
        String source;

        @Option(names = "--state", paramLabel = "STATE", description = "Only disks in this state (e.g. available).")
        @Nullable
        String state;

        @Override
        public Integer call() throws Exception {
            SprigApiClient.Filter filter = new SprigApiClient.Filter(state, namePrefix, source, labels.labels());
            for (DiskView disk : timeouts.client(api).allDisks(filter, PAGE)) {
                System.out.println(String.join(
                        "\t",
                        disk.externId(),
                        disk.name(),
                        String.valueOf(disk.sourceId()),
                        String.valueOf(disk.sizeBytes()),
                        disk.state(),
                        Labelled.text(disk.labels())));
            }
            return 0;
        }
    }

    @Command(
            name = "resize",
            mixinStandardHelpOptions = true,
            description = "Grow a disk to SIZE; prints its new size in bytes. An attached client keeps its size"
                    + " until it connects again.")
    static final class Resize implements Callable<Integer> {

        @Mixin
        ApiOptions api;

        @Mixin
        TimeoutOptions timeouts;

        @Parameters(index = "0", paramLabel = "ID", description = "Disk id.")
        String diskId;

        @Parameters(
                index = "1",
                paramLabel = "SIZE",
                description = "New size: bytes, or a number with K, M, G or T (powers of 1024), e.g. 20G.")
        String size;

        @Override
        public Integer call() throws Exception {
            long bytes;
            try {
                bytes = bytes(size);
            } catch (IllegalArgumentException notASize) {
                System.err.println("sprig-agent: " + notASize.getMessage());
                return 2;
            }
            System.out.println(
                    timeouts.client(api).resize(diskId, new ResizeDisk(bytes)).sizeBytes());
            return 0;
        }

        /** {@code 20G} as bytes: a whole number, with an optional K, M, G or T suffix (powers of 1024). */
        static long bytes(String size) {
            String text = size.strip().toUpperCase(java.util.Locale.ROOT);
            int shift = switch (text.isEmpty() ? ' ' : text.charAt(text.length() - 1)) {
                case 'K' -> 10;
                case 'M' -> 20;
                case 'G' -> 30;
                case 'T' -> 40;
                default -> 0;
            };
            String digits = shift == 0 ? text : text.substring(0, text.length() - 1);
            try {
                long number = Long.parseLong(digits);
                if (number <= 0 || number > Long.MAX_VALUE >> shift) {
                    throw new NumberFormatException();
                }
                return number << shift;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                        "SIZE must be a positive whole number of bytes, or one with K, M, G or T: " + size);
            }
        }
    }

    @Command(
            name = "revert",
            mixinStandardHelpOptions = true,
            description = "Make a disk read as one of its snapshots again; what it wrote since is gone. Refused"
                    + " while a client holds it for writing (an agent serving it, or an attachment not detached);"
                    + " prints the disk id.")
    static final class Revert implements Callable<Integer> {

        @Mixin
        ApiOptions api;

        @Mixin
        TimeoutOptions timeouts;

        @Parameters(index = "0", paramLabel = "ID", description = "Disk id.")
        String diskId;

        @Parameters(index = "1", paramLabel = "SNAPSHOT", description = "Snapshot id, of this disk.")
        String snapshotId;

        @Override
        public Integer call() throws Exception {
            System.out.println(timeouts.client(api)
                    .revert(diskId, new RevertDisk(snapshotId))
                    .externId());
            return 0;
        }
    }

    @Command(
            name = "detach",
            mixinStandardHelpOptions = true,
            description = "End a holder's write lease on a disk: for a client that stopped without detaching"
                    + " (a revert's refusal names the holder).")
    static final class Detach implements Callable<Integer> {

        @Mixin
        ApiOptions api;

        @Mixin
        TimeoutOptions timeouts;

        @Parameters(index = "0", paramLabel = "ID", description = "Disk id.")
        String diskId;

        @Option(
                names = "--holder",
                paramLabel = "HOLDER",
                description = "The holder, as the refusal names it (default: ${DEFAULT-VALUE}).",
                defaultValue = "unnamed")
        String holder;

        @Override
        public Integer call() throws Exception {
            timeouts.client(api).detach(diskId, holder);
            return 0;
        }
    }

    @Command(
            name = "lineage",
            mixinStandardHelpOptions = true,
            description = "Print the chain from a disk to its image, as JSON.")
    static final class Lineage implements Callable<Integer> {

        @Mixin
        ApiOptions api;

        @Mixin
        TimeoutOptions timeouts;

        @Parameters(paramLabel = "ID", description = "Disk id.")
        String disk;

        @Override
        public Integer call() throws Exception {
            System.out.println(Wire.pretty(timeouts.client(api).lineage(disk)));
            return 0;
        }
    }

    @Command(
            name = "export",
            mixinStandardHelpOptions = true,
            description = "Copy a disk's bytes into a raw FILE, reading from its storage nodes directly.")
    static final class Export implements Callable<Integer> {

        private static final int CHUNK = 4 << 20;

        @Mixin
        ApiOptions api;

        @Parameters(index = "0", paramLabel = "ID", description = "Disk id.")
        String diskId;

        @Parameters(index = "1", paramLabel = "FILE", description = "Raw file to write (replaced).")
        Path file;

        @Override
        public Integer call() throws Exception {
            try (NodeChannels channels = new NodeChannels();
                    AttachedDisks disks = new AttachedDisks(new Attachments(api.api, api.apiKey), channels)) {
                NbdExport export = disks.open(diskId);
                if (!(export instanceof AsyncNbdDisk disk)) {
                    System.err.println("sprig-agent: no disk " + diskId);
                    return 1;
                }
                // the export holds the disk (a write lease) until it is released
                try {
                    return exportTo(disk);
                } finally {
                    disk.release();
                }
            }
        }

        private int exportTo(AsyncNbdDisk disk) throws IOException, InterruptedException {
            ProgressBar progress = new ProgressBar(System.err, disk.sizeBytes());
            try (DiskReads reads = new DiskReads(disk);
                    OutputStream out = Files.newOutputStream(file)) {
                for (long offset = 0; offset < disk.sizeBytes(); offset += CHUNK) {
                    int length = (int) Math.min(CHUNK, disk.sizeBytes() - offset);
                    ByteBuf chunk;
                    try {
                        chunk = reads.read(offset, length);
                    } catch (IOException failed) {
                        System.err.println("\nsprig-agent: " + failed.getMessage());
                        return 1;
                    }
                    try {
                        chunk.readBytes(out, length);
                    } finally {
                        chunk.release();
                    }
                    progress.accept(offset + length);
                }
            }
            return 0;
        }
    }
}
