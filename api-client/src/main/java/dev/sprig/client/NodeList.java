package dev.sprig.client;

import java.util.List;

/** {@code GET /v1/nodes}: every registered node. */
public record NodeList(List<NodeView> items) {}
