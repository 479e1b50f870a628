/**
 * The chunk engine: hosts lcs (logical disks) as sparse local files and redirects writes at 256 KiB
 * segment granularity (redirect-on-write). Plain Java, no Spring, so that the storage node's HTTP
 * server, api-server's embedded backend, tests and benchmarks use it directly.
 *
 * <p>The public surface is {@link dev.sprig.engine.ChunkEngine}, its configuration, value
 * records and the sealed {@link dev.sprig.engine.EngineException} hierarchy. Everything named
 * after the storage format ({@code Journal}, {@code Checkpoint}, {@code PcMeta}, ...) is
 * package-private; {@code storage-node/README.md} is the single description of that format.
 */
@NullMarked
package dev.sprig.engine;

import org.jspecify.annotations.NullMarked;
