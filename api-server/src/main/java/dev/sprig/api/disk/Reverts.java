package dev.sprig.api.disk;

import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.backend.StorageBackend.LcSpec;
import dev.sprig.api.database.Transactions;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.lineage.Deletions;
import dev.sprig.api.lineage.Lc;
import dev.sprig.api.lineage.LcRepository;
import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourceKind;
import dev.sprig.api.lineage.ResourceRepository;
import dev.sprig.api.lineage.UnusedAncestors;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.springframework.stereotype.Service;

/**
 * Reverting a disk to one of its snapshots (Cinder's revert-to-snapshot, RBD's rollback) in the
 * metadata alone: the disk gets a new writable child of the snapshot's frozen lc, and its old lc,
 * with everything written since, goes, with any implicit snapshot above it that nothing reads any
 * more. The snapshot, and the disk's later snapshots, stay as they are. The disk keeps its size: a
 * disk grown after the snapshot reads zeros past the snapshot's end.
 *
 * <p>Only a snapshot on the disk's own chain qualifies: its own, or one of the disk it was cloned
 * from, taken before the clone (a flatten cuts a disk loose from the snapshots before it), and only while nobody holds the disk for writing ({@link WriteHolders}): a
 * client that goes on writing would write on top of the snapshot's bytes as if onto its own.
 */
@Service
public class Reverts {

    private final ResourceRepository resources;
    private final LcRepository lcs;
    private final UnusedAncestors unusedAncestors;
    private final Deletions deletions;
    private final DiskService disks;
    private final WriteHolders writers;
    private final StorageBackend backend;
    private final Transactions tx;

    Reverts(
            ResourceRepository resources,
            LcRepository lcs,
            UnusedAncestors unusedAncestors,
            Deletions deletions,
            DiskService disks,
            WriteHolders writers,
            StorageBackend backend,
            Transactions tx) {
        this.resources = resources;
        this.lcs = lcs;
        this.unusedAncestors = unusedAncestors;
        this.deletions = deletions;
        this.disks = disks;
        this.writers = writers;
        this.backend = backend;
        this.tx = tx;
    }

    /** Makes disk {@code diskId} read as snapshot {@code snapshotId} again; the disk as it is then. */
    public Resource revert(String diskId, String snapshotId) {
        List<Long> gone = Objects.requireNonNull(tx.execute(status -> {
            Resource disk = resources
                    .lock(diskId, ResourceKind.DISK)
                    .filter(found -> !found.state().equals(ResourceRepository.DELETING))
                    .orElseThrow(() -> SprigException.notFound("disk " + diskId));
            disks.requireAvailable(disk);
            Resource snapshot = resources
                    .lockShared(snapshotId, ResourceKind.SNAPSHOT)
                    .filter(found -> !found.state().equals(ResourceRepository.DELETING))
                    .orElseThrow(() -> SprigException.notFound("snapshot " + snapshotId));
            disks.requireAvailable(snapshot);
            Lc current = lcs.find(Objects.requireNonNull(disk.lcId())).orElseThrow();
            Lc target = lcs.find(Objects.requireNonNull(snapshot.lcId())).orElseThrow();
            if (!lcs.isAncestor(target.lcId(), current.lcId())) {
                throw SprigException.invalidState("snapshot " + snapshotId + " is not in disk " + diskId
                        + "'s lineage (a snapshot of a disk it was not cloned from, or one from before a"
                        + " flatten): the disk cannot be reverted to it");
            }
            writers.requireNoWriter(disk, "cannot revert");
            Lc next = target.child(lcs.nextId(), Objects.requireNonNull(disk.sizeBytes()));
            lcs.insertAll(List.of(next));
            resources.setLc(diskId, next.lcId());
            // the disk's own lc is writable, so nothing hangs below it
            lcs.delete(current.lcId());
            List<Long> removed = new ArrayList<>(List.of(current.lcId()));
            removed.addAll(unusedAncestors.remove(current.parentLcId()));
            backend.define(List.of(new LcSpec(next.lcId(), target.lcId(), next.familyId(), next.sizeBytes(), false)));
            return removed;
        }));
        deletions.removeFromStorage(gone);
        return disks.get(diskId);
    }
}
