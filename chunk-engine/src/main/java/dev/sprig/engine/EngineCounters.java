package dev.sprig.engine;

/**
 * Work done since the engine was opened.
 *
 * @param redirects first writes to a segment that copied (merged) it into the writing lc
 * @param flushes completed flush and flushAll calls
 * @param directSegmentWrites whole segments (first writes, flatten copies) written with direct I/O,
 *     past the page cache
 */
public record EngineCounters(long redirects, long flushes, long directSegmentWrites) {}
