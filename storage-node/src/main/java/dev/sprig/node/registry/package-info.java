/**
 * Registration of a standalone storage node with api-server: the idempotent
 * {@code PUT /v1/nodes/{nodeId}} that announces the node's endpoints, token and capacity, repeated
 * as its heartbeat. Off unless {@code sprig.node.registry.url} is set, and never active inside
 * api-server, which serves its embedded engine without registering it.
 */
@NullMarked
package dev.sprig.node.registry;

import org.jspecify.annotations.NullMarked;
