package dev.sprig.client;

/** {@code POST /v1/disks/{id}/snapshots}. */
public record CreateSnapshot(String name) {}
