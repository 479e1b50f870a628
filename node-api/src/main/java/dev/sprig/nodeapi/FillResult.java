package dev.sprig.nodeapi;

/**
 * The answer to a segment fill: {@code filled} is false when the lc already held the segment (a
 * client write got there first), which then kept its content.
 */
public record FillResult(boolean filled) {}
