package dev.sprig.nodeapi;

/**
 * What marking an lc's suspect segments did: {@code marked} became suspect, {@code cleaned} of those
 * named were skipped because a live write made them right since (they are never suspect again), and
 * {@code suspects} are suspect now in all.
 */
public record SuspectsMarked(long marked, long cleaned, long suspects) {}
