package dev.sprig.nodeapi;

/**
 * @param created lcs the batch added
 * @param unchanged lcs that already existed exactly as defined (a repeated request is a no-op)
 */
public record DefineResult(int created, int unchanged) {}
