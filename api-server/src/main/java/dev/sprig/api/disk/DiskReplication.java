package dev.sprig.api.disk;

import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.backend.StorageBackend.ReplicaColumn;
import dev.sprig.api.disk.Attachment.ColumnExport;
import dev.sprig.api.disk.Attachment.MemberExport;
import dev.sprig.api.disk.Attachment.Redundancy;
import dev.sprig.api.lineage.Resource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Service;

/**
 * Where disks keep their copies, as disk views show it (decision 011): the columns, their epochs
 * and members' states, without URIs. A page of disks costs a few queries, not one per disk: the
 * backend looks them up by family, and the disks of one image share its family.
 */
@Service
public class DiskReplication {

    /** A disk's copies: {@code redundancy} and the columns, members without URIs. */
    public record Replicas(Redundancy redundancy, List<ColumnExport> columns) {}

    private final StorageBackend backend;

    DiskReplication(StorageBackend backend) {
        this.backend = backend;
    }

    /** The disk's copies; null where there are no replica sets, or while it has no lc. */
    public @Nullable Replicas of(Resource disk) {
        return of(List.of(disk)).get(disk.externId());
    }

    /** By extern id, for the disks that have replica sets. */
    public Map<String, Replicas> of(List<Resource> disks) {
        List<Long> lcIds = new ArrayList<>();
        disks.forEach(disk -> {
            if (disk.lcId() != null) {
                lcIds.add(disk.lcId());
            }
        });
        if (lcIds.isEmpty()) {
            return Map.of();
        }
        Map<Long, List<ReplicaColumn>> byLc = backend.replicasOf(lcIds);
        // the backend answers one list per family: the disks of a family share one view
        Map<List<ReplicaColumn>, Replicas> shared = new IdentityHashMap<>();
        Map<String, Replicas> byDisk = new HashMap<>();
        for (Resource disk : disks) {
            List<ReplicaColumn> columns = disk.lcId() == null ? null : byLc.get(disk.lcId());
            if (columns != null && !columns.isEmpty()) {
                byDisk.put(disk.externId(), shared.computeIfAbsent(columns, DiskReplication::withoutUris));
            }
        }
        return byDisk;
    }

    private static Replicas withoutUris(List<ReplicaColumn> columns) {
        return new Replicas(
                redundancy(columns),
                columns.stream()
                        .map(column -> new ColumnExport(
                                column.column(),
                                column.epoch(),
                                column.members().stream()
                                        .map(member ->
                                                new MemberExport(member.node().nodeId(), member.state(), null))
                                        .toList()))
                        .toList());
    }

    /** Healthy when every member of every column is in sync (a rebuilding member is not yet). */
    static Redundancy redundancy(List<ReplicaColumn> columns) {
        return columns.stream()
                        .allMatch(column -> column.members().stream().allMatch(StorageBackend.ReplicaMember::inSync))
                ? Redundancy.HEALTHY
                : Redundancy.DEGRADED;
    }
}
