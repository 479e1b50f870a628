package dev.sprig.agent.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sprig-agent images import FILE}. */
@Command(
        name = "images",
        mixinStandardHelpOptions = true,
        description = "Base images.",
        subcommands = ImagesCommand.Import.class)
final class ImagesCommand {

    @Command(
            name = "import",
            mixinStandardHelpOptions = true,
            description = "Upload a raw FILE as a new image; prints its id.")
    static final class Import implements Callable<Integer> {

        @Mixin
        ApiOptions api;

        @Mixin
        TimeoutOptions timeouts;

        @Parameters(paramLabel = "FILE", description = "Raw disk image to upload.")
        Path file;

        @Option(names = "--name", description = "Image name (default: the file's name).")
        String name;

        @Override
        public Integer call() throws Exception {
            String imageName = name != null ? name : file.getFileName().toString();
            String id =
                    timeouts.client(api).importImage(imageName, file, new ProgressBar(System.err, Files.size(file)));
            System.out.println(id);
            return 0;
        }
    }
}
