package dev.sprig.engine;

/** Receives progress of {@link ChunkEngine#flatten}: called after each PC is done. */
@FunctionalInterface
public interface FlattenProgress {

    void pcDone(long pcsDone, long pcsTotal);

    static FlattenProgress none() {
        return (done, total) -> {};
    }
}
