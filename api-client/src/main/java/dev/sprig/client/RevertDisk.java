package dev.sprig.client;

/** {@code POST /v1/disks/{id}:revert}: the snapshot, on the disk's own chain, that the disk reads as again. */
public record RevertDisk(String snapshotId) {}
