package dev.sprig.node.http;

import java.nio.file.Path;

/** The directory the served engine lives in, for capacity figures. */
public record NodeDataDir(Path path) {}
