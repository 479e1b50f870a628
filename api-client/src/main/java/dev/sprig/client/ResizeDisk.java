package dev.sprig.client;

/** {@code POST /v1/disks/{id}:resize}: the new size, at least the disk's. */
public record ResizeDisk(long sizeBytes) {}
