package dev.sprig.api.image;

import dev.sprig.api.backend.StorageBackend.FileAdoption;
import dev.sprig.api.cache.ImageCache;
import dev.sprig.api.operation.OperationProgress;
import dev.sprig.engine.ChunkEngine;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.springframework.stereotype.Component;

/**
 * Copies an image into its lc when the backend stores lcs in local files: {@code qemu-img convert}
 * writes the raw image straight into a staging file beside the lc's, and the backend adopts that
 * file as the lc's content, checksumming it and owning only its non-zero segments. The image's bytes
 * are written once, by the tool that reads the format, instead of being read back over NBD and
 * written a second time.
 *
 * <p>The cache's room is reserved once qemu-img has written the staging file and before the lc
 * takes it, for the segments the file's map says hold data; the staging file itself is scratch space
 * like a download, not a cached copy. Once the lc holds its bytes, the reservation is settled to
 * what it stores.
 */
@Component
class ConvertedCopy {

    private final ImageCache imageCache;

    ConvertedCopy(ImageCache imageCache) {
        this.imageCache = imageCache;
    }

    /** Fills the empty lc {@code lcId} of {@code size} bytes with the image in {@code file}; durable on return. */
    void copy(
            String imageId,
            Path file,
            ImageFormat format,
            long lcId,
            long size,
            FileAdoption adoption,
            OperationProgress progress) {
        Path staging = adoption.stagingFile(lcId);
        try {
            Files.deleteIfExists(staging);
            QemuImg.convert(
                    file,
                    format,
                    staging,
                    adoption.directIo(),
                    percent -> progress.report((long) (size * percent / 100), size));
            // qemu-img leaves every all-zero 4 KiB block a hole, so the file's own map names exactly
            // the segments the lc will store (or more, on a file system that cannot tell holes)
            long reserved = QemuImg.dataBytes(staging, ImageFormat.RAW, size, ChunkEngine.SEGMENT_SIZE);
            if (reserved > 0) {
                imageCache.reserve(imageId, lcId, reserved);
            }
            long stored = adoption.adopt(lcId, staging);
            imageCache.settle(imageId, lcId, reserved, stored);
            progress.report(size, size);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            deleteQuietly(staging);
        }
    }

    private static void deleteQuietly(Path staging) {
        try {
            Files.deleteIfExists(staging);
        } catch (IOException e) {
            // the engine removes staging files it finds when it opens
        }
    }
}
