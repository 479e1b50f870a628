/**
 * The storage side of a node, without its web layer: the chunk engine over the node's data
 * directory, the node token, the NBD data port, background jobs, data-path metrics and the engine's
 * health. {@link dev.sprig.node.storage.NodeStorageConfiguration} wires it for any application that
 * serves an engine (the storage-node application, or api-server serving its embedded engine).
 */
@NullMarked
package dev.sprig.node.storage;

import org.jspecify.annotations.NullMarked;
