package dev.sprig.api.disk;

import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.backend.StorageBackend.LcSpec;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.lineage.ExternIds;
import dev.sprig.api.lineage.Lc;
import dev.sprig.api.lineage.LcRepository;
import dev.sprig.api.lineage.PageCursor;
import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourceKind;
import dev.sprig.api.lineage.ResourcePage;
import dev.sprig.api.lineage.ResourceRepository;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Clones. A clone is a new writable lc whose parent is the source's frozen lc: metadata in one
 * transaction and one definition pushed to the backend, no data copied. The disk row becomes
 * {@code available} only after the backend holds its lc, in the same transaction, so a failed push
 * leaves nothing behind.
 */
@Service
public class DiskService {

    private final ResourceRepository resources;
    private final LcRepository lcs;
    private final StorageBackend backend;
    private final TransactionTemplate tx;

    DiskService(ResourceRepository resources, LcRepository lcs, StorageBackend backend, TransactionTemplate tx) {
        this.resources = resources;
        this.lcs = lcs;
        this.backend = backend;
        this.tx = tx;
    }

    /** Clones an available image; {@code sizeBytes} null means the image's size, smaller is refused. */
    public Resource clone(String name, String sourceId, @Nullable Long sizeBytes) {
        String externId = ExternIds.next(ResourceKind.DISK);
        tx.executeWithoutResult(status -> {
            Resource image = resources
                    .find(sourceId, ResourceKind.IMAGE)
                    .orElseThrow(() -> SprigException.notFound("image " + sourceId));
            if (!image.state().equals("available")) {
                throw SprigException.invalidState("image " + sourceId + " is " + image.state() + ", not available");
            }
            long size = sizeBytes == null ? image.sizeBytes() : sizeBytes;
            if (size < image.sizeBytes()) {
                throw SprigException.invalidArgument(
                        "sizeBytes " + size + " is smaller than the image's " + image.sizeBytes());
            }
            Lc parent = lcs.find(Objects.requireNonNull(image.lcId())).orElseThrow();
            Lc disk = parent.child(lcs.nextId(), size);
            lcs.insertAll(List.of(disk));
            try {
                resources.insert(externId, ResourceKind.DISK, name, size, "creating", disk.lcId(), sourceId);
            } catch (DuplicateKeyException taken) {
                throw SprigException.alreadyExists("a disk named '" + name + "'");
            }
            backend.define(List.of(new LcSpec(disk.lcId(), parent.lcId(), size, false)));
            resources.setState(externId, "available", null);
        });
        return get(externId);
    }

    public Resource get(String externId) {
        return resources
                .find(externId, ResourceKind.DISK)
                .orElseThrow(() -> SprigException.notFound("disk " + externId));
    }

    public ResourcePage list(
            @Nullable String state, @Nullable String namePrefix, @Nullable String pageToken, int pageSize) {
        PageCursor after = pageToken == null || pageToken.isEmpty() ? null : PageCursor.of(pageToken);
        return resources.page(ResourceKind.DISK, state, namePrefix, after, pageSize);
    }
}
