package dev.sprig.agent.cli;

import dev.sprig.client.ImageView;
import dev.sprig.client.SprigApiClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sprig-agent images import|list}. */
@Command(
        name = "images",
        mixinStandardHelpOptions = true,
        description = "Base images: import, list.",
        subcommands = {ImagesCommand.Import.class, ImagesCommand.ListImages.class})
final class ImagesCommand {

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            description = "List images, oldest first, one a line: id, name, state, size in bytes, labels (k=v,k=v),"
                    + " separated by tabs (cut -f1 for the ids).")
    static final class ListImages implements Callable<Integer> {

        @Mixin
        ApiOptions api;

        @Mixin
        TimeoutOptions timeouts;

        @Mixin
        LabelOptions labels;

        @Option(names = "--name-prefix", paramLabel = "PREFIX", description = "Only images whose name starts so.")
        @Nullable
        String namePrefix;

        @Override
        public Integer call() throws Exception {
            SprigApiClient.Filter filter = new SprigApiClient.Filter(null, namePrefix, null, labels.labels());
            for (ImageView image : timeouts.client(api).allImages(filter, 500)) {
                System.out.println(String.join(
                        "\t",
                        image.externId(),
                        image.name(),
                        image.state(),
                        String.valueOf(image.sizeBytes()),
                        Labelled.text(image.labels())));
            }
            return 0;
        }
    }

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
