package dev.sprig.client;

/** {@code POST /v1/images/{id}:prefetch} on an image that is cached already. */
public record Prefetched(String imageId, boolean cached) {}
