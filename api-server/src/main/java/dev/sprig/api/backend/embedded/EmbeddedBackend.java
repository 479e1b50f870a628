package dev.sprig.api.backend.embedded;

import dev.sprig.api.backend.StorageBackend;
import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.NewLc;
import dev.sprig.engine.UnknownLcException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** {@link StorageBackend} on a chunk engine in this process. */
final class EmbeddedBackend implements StorageBackend {

    private final ChunkEngine engine;
    private final NodeAccess self;

    /** @param self this process as a node: its NBD port and token; the HTTP API is api-server's own */
    EmbeddedBackend(ChunkEngine engine, NodeAccess self) {
        this.engine = engine;
        this.self = self;
    }

    @Override
    public List<NodeAccess> placementOf(long lcId) {
        return List.of(self);
    }

    @Override
    public void define(List<LcSpec> lcs) {
        engine.createAll(lcs.stream()
                .map(lc -> new NewLc(lc.lcId(), lc.parentLcId(), lc.sizeBytes(), lc.frozen()))
                .toList());
    }

    @Override
    public Inventory inventory() {
        return Inventory.of(engine.list().stream()
                .map(lc -> new HeldLc(
                        lc.lcId(), lc.parentLcId().isPresent() ? lc.parentLcId().getAsLong() : null, lc.frozen()))
                .toList());
    }

    @Override
    public void freeze(long lcId) {
        engine.freeze(lcId);
    }

    @Override
    public void grow(long lcId, long sizeBytes) {
        engine.grow(lcId, sizeBytes);
    }

    @Override
    public void delete(long lcId) {
        try {
            engine.delete(lcId);
        } catch (UnknownLcException alreadyGone) {
            // the caller's intent holds
        }
    }

    @Override
    public void write(long lcId, long offset, ByteBuffer bytes) {
        engine.write(lcId, offset, bytes);
    }

    @Override
    public void read(long lcId, long offset, ByteBuffer into) {
        engine.read(lcId, offset, into);
    }

    @Override
    public long copyRange(long fromLcId, long toLcId, long offset, long length) {
        ByteBuffer segment = ByteBuffer.allocateDirect(ChunkEngine.SEGMENT_SIZE);
        long stored = 0;
        for (long done = 0; done < length; ) {
            int n = (int) Math.min(ChunkEngine.SEGMENT_SIZE, length - done);
            segment.clear().limit(n);
            engine.read(fromLcId, offset + done, segment);
            stored += engine.writeSparse(toLcId, offset + done, segment.flip());
            done += n;
        }
        return stored;
    }

    @Override
    public List<PcRun> pcsWithData(long lcId) {
        return PcRun.of(engine.pcsWithData(lcId));
    }

    @Override
    public void flush(long lcId) {
        engine.flush(lcId);
    }

    @Override
    public Optional<FileAdoption> fileAdoption() {
        return Optional.of(new FileAdoption() {
            @Override
            public Path stagingFile(long lcId) {
                return engine.stagingFile(lcId);
            }

            @Override
            public boolean directIo() {
                return engine.directIo();
            }

            @Override
            public long adopt(long lcId, Path file) {
                return engine.adopt(lcId, file);
            }
        });
    }

    @Override
    public void flatten(long lcId, FlattenProgress progress) {
        engine.flatten(lcId, progress::pcsDone);
    }
}
