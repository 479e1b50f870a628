package dev.sprig.client;

import java.util.List;

/** {@code GET /v1/disks/{id}/lineage}: the chain from the disk's lc to its root, nearest first. */
public record Lineage(String externId, List<LineageEntry> chain) {}
