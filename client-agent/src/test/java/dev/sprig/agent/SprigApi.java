package dev.sprig.agent;

import dev.sprig.client.AttachmentView;
import dev.sprig.client.CreateDisk;
import dev.sprig.client.CreateImage;
import dev.sprig.client.CreateSnapshot;
import dev.sprig.client.DiskView;
import dev.sprig.client.ImageView;
import dev.sprig.client.OperationView;
import dev.sprig.client.ResizeDisk;
import dev.sprig.client.SprigApiClient;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

/**
 * Sets up images and disks through the REST API, as a script would; fails loudly when refused. Each
 * create is sent once, without an Idempotency-Key: the agent's retries are what the tests look at.
 */
final class SprigApi {

    private final SprigApiClient client;

    SprigApi(URI base, String key) {
        this.client = new SprigApiClient(
                base,
                key,
                new SprigApiClient.Timeouts(Duration.ofSeconds(10), Duration.ofMinutes(5)),
                SprigApiClient.Creates.ONCE);
    }

    /** An available image holding {@code content}; returns its extern_id. */
    String image(byte[] content) {
        return call(() -> {
            String id = client.createImage(CreateImage.upload(unique("img"), content.length))
                    .externId();
            Path file = Files.createTempFile("sprig-image", ".raw");
            try {
                Files.write(file, content);
                client.upload(id, file, sent -> {});
            } finally {
                Files.delete(file);
            }
            return id;
        });
    }

    /** A clone of {@code source}; returns its extern_id. */
    String clone(String source) {
        return call(() -> client.createDisk(new CreateDisk(unique("disk"), source)))
                .externId();
    }

    /** Grows {@code disk} to {@code sizeBytes}; returns its size as api-server answered it. */
    long resize(String disk, long sizeBytes) {
        return call(() -> client.resize(disk, new ResizeDisk(sizeBytes))).sizeBytes();
    }

    /** Reverts {@code disk} to {@code snapshot}; the refusal as api-server gave it ({@code ApiException}). */
    dev.sprig.client.DiskView revert(String disk, String snapshot) throws IOException {
        return client.revert(disk, new dev.sprig.client.RevertDisk(snapshot));
    }

    /**
     * Reverts {@code disk} to {@code snapshot} once no one holds it for writing: an agent ends its
     * lease just after its last connection to the disk closes, so a refusal is retried for a while.
     */
    dev.sprig.client.DiskView revertOnceDetached(String disk, String snapshot) throws Exception {
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(10).toNanos();
        while (true) {
            try {
                return revert(disk, snapshot);
            } catch (dev.sprig.client.ApiException refused) {
                if (refused.status() != 409 || System.nanoTime() > deadline) {
                    throw refused;
                }
                Thread.sleep(50);
            }
        }
    }

    /** Snapshots {@code disk} (its lc is frozen, the disk goes on in a new one); returns the snapshot's extern_id. */
    String snapshot(String disk) {
        return call(() -> client.snapshot(disk, new CreateSnapshot(unique("snap"))))
                .externId();
    }

    /** A read-only attachment of {@code disk}: its exports, opening it for reading only, and no write lease. */
    AttachmentView readOnlyAttachment(String disk) {
        return call(() -> client.attachment(disk, "read-only", "unnamed"));
    }

    /** What the agent itself fetches for {@code disk}: its lc, geometry and nodes. */
    AttachmentView attachment(String disk) {
        return call(() -> client.attachment(disk));
    }

    /** An image imported from {@code file} (a file: source), once its import has succeeded; its extern_id. */
    String imageFrom(Path file) throws InterruptedException {
        ImageView importing = call(() ->
                client.createImage(CreateImage.from(unique("src"), file.toUri().toString(), null)));
        String operation = importing.operationId();
        long deadline = System.nanoTime() + 60_000_000_000L;
        OperationView now = operation(operation);
        while (now.running() && System.nanoTime() < deadline) {
            Thread.sleep(100);
            now = operation(operation);
        }
        if (!now.succeeded()) {
            throw new AssertionError("the import did not succeed: " + now);
        }
        return importing.externId();
    }

    OperationView operation(String id) {
        return call(() -> client.operation(id));
    }

    /** Drops an imported image's cached copy (admin key): its next clone imports it again. */
    void evict(String image) {
        call(() -> {
            client.evict(image);
            return null;
        });
    }

    /** The disks whose names start with {@code prefix}, as GET /v1/disks lists them. */
    List<DiskView> disksNamed(String prefix) {
        return call(() -> client.allDisks(prefix, 1000));
    }

    static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private interface Call<T> {
        T call() throws IOException;
    }

    private static <T> T call(Call<T> call) {
        try {
            return call.call();
        } catch (IOException refused) {
            throw new AssertionError(refused.getMessage(), refused);
        }
    }
}
