package dev.sprig.api.lineage;

import java.util.Map;
import org.springframework.stereotype.Service;

/** How many images, disks and snapshots exist (those waiting on a deferred delete not counted). */
@Service
public class Inventory {

    private final ResourceRepository resources;

    Inventory(ResourceRepository resources) {
        this.resources = resources;
    }

    public Counts counts() {
        Map<ResourceKind, Long> live = resources.countLive();
        return new Counts(
                live.getOrDefault(ResourceKind.IMAGE, 0L),
                live.getOrDefault(ResourceKind.DISK, 0L),
                live.getOrDefault(ResourceKind.SNAPSHOT, 0L));
    }

    public record Counts(long images, long disks, long snapshots) {}
}
