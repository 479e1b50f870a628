package dev.sprig.agent.cli;

import dev.sprig.agent.api.SprigApiClient;
import dev.sprig.agent.route.AttachedDisks;
import dev.sprig.agent.route.Attachments;
import dev.sprig.agent.route.NodeChannels;
import dev.sprig.nbd.server.AsyncNbdDisk;
import dev.sprig.nbd.server.NbdExport;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sprig-agent disks clone|lineage|export}. */
@Command(
        name = "disks",
        mixinStandardHelpOptions = true,
        description = "Disks: clone, lineage, export.",
        subcommands = {DisksCommand.Clone.class, DisksCommand.Lineage.class, DisksCommand.Export.class})
final class DisksCommand {

    @Command(
            name = "clone",
            mixinStandardHelpOptions = true,
            description = "Clone an image or snapshot; prints one disk id per line.")
    static final class Clone implements Callable<Integer> {

        @Mixin
        ApiOptions api;

        @Parameters(paramLabel = "SOURCE", description = "Image or snapshot id to clone.")
        String source;

        @Option(names = "--count", defaultValue = "1", description = "How many disks (default: 1; up to 5000).")
        int count;

        @Option(names = "--name", description = "Name, or name prefix with --count (default: clone-<random>).")
        String name;

        @Override
        public Integer call() throws Exception {
            String prefix = name != null
                    ? name
                    : "clone-" + UUID.randomUUID().toString().substring(0, 8);
            new SprigApiClient(api.api, api.apiKey)
                    .cloneDisks(source, count, prefix)
                    .forEach(System.out::println);
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

        @Parameters(paramLabel = "ID", description = "Disk id.")
        String disk;

        @Override
        public Integer call() throws Exception {
            System.out.println(SprigApiClient.pretty(new SprigApiClient(api.api, api.apiKey).lineage(disk)));
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
}
