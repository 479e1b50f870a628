package dev.sprig.engine;

/**
 * Work done since the engine was opened.
 *
 * @param redirects first writes to a segment that copied (merged) it into the writing lc
 * @param flushes completed flush and flushAll calls
 */
public record EngineCounters(long redirects, long flushes) {}
