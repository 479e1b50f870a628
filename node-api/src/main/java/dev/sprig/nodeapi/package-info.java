/**
 * The storage node's HTTP contract, written once: the JSON records its endpoints read and answer,
 * {@link dev.sprig.nodeapi.NodeApi} (the endpoints as an {@code @HttpExchange} interface, from which
 * api-server builds its client), and {@link dev.sprig.nodeapi.RegisterNode}, the body a node
 * registers with api-server. The node's controllers serve these records and api-server reads them,
 * so a field renamed here changes both sides at once. No engine or Spring MVC types: the wire does
 * not follow the node's internals.
 */
@NullMarked
package dev.sprig.nodeapi;

import org.jspecify.annotations.NullMarked;
