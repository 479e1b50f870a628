package dev.sprig.nodeapi;

public record CopyFromResult(long bytesStored) {}
