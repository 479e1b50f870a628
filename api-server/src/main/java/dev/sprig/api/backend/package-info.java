/**
 * The {@code StorageBackend} port: the few things the management plane asks of storage. Adapters:
 * {@code embedded} (the chunk engine in-process) and {@code nodes} (registered storage nodes over HTTP, package {@code remote}).
 */
@NullMarked
package dev.sprig.api.backend;

import org.jspecify.annotations.NullMarked;
