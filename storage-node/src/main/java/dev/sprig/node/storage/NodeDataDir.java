package dev.sprig.node.storage;

import java.nio.file.Path;

/** The directory the served engine lives in, for capacity figures. */
public record NodeDataDir(Path path) {}
