package dev.sprig.engine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.StampedLock;

/**
 * Flatten: copies into a writable lc every segment it still reads from its ancestors, then
 * detaches it from its parent.
 */
final class Flattener {

    private final EngineState state;
    private final MetaStore metaStore;
    private final Catalog catalog;
    private final SegmentWriter writer;
    private final Durability durability;
    private final SegmentLocks stripes;
    private final ResolvedPcs resolvedPcs;

    Flattener(EngineState state, MetaStore metaStore, Catalog catalog, SegmentWriter writer) {
        this.state = state;
        this.metaStore = metaStore;
        this.catalog = catalog;
        this.writer = writer;
        this.durability = state.durability;
        this.stripes = state.stripes;
        this.resolvedPcs = state.resolvedPcs;
    }

    void flatten(long lcId, FlattenProgress progress) {
        LcInfo info = catalog.info(lcId);
        if (info.frozen()) {
            throw new FrozenLcException(lcId, "flatten");
        }
        // refused up front, as every change is, even when there turns out to be nothing to copy
        durability.checkWritable();
        long[] pcs = catalog.ancestorPcs(lcId);
        for (int i = 0; i < pcs.length; i++) {
            long pc = pcs[i];
            Lock l = state.shared();
            try {
                Lc lc = state.writable(lcId, "flatten");
                durability.checkWritable();
                Lc parent = lc.parent;
                if (parent == null) {
                    break;
                }
                ResolvedPc source = resolvedPcs.of(parent, pc);
                for (int s = 0; s < Layout.SEGMENTS_PER_PC; s++) {
                    Lc owner = source.owners()[s];
                    if (owner != null) {
                        copyFromAncestor(lc, pc, s, owner, Objects.requireNonNull(source.crcs()[s]));
                    }
                }
            } catch (IOException e) {
                throw IoFailure.of("flatten lc " + lcId, e);
            } finally {
                l.unlock();
            }
            progress.pcDone(i + 1, pcs.length);
        }
        Lock l = state.exclusive();
        try {
            Lc lc = state.writable(lcId, "flatten");
            Lc parent = lc.parent;
            if (parent == null) {
                return;
            }
            durability.checkWritable();
            metaStore.flushLcs(List.of(lc));
            metaStore.journal().append(new JournalRecord.Flatten(lcId));
            metaStore.journal().force(durability);
            parent.children--;
            lc.parent = null;
        } catch (IOException e) {
            throw IoFailure.of("flatten lc " + lcId, e);
        } finally {
            l.unlock();
        }
    }

    private void copyFromAncestor(Lc lc, long pc, int s, Lc owner, int[] ownerCrcs) throws IOException {
        StampedLock stripe = stripes.of(lc.id, pc, s);
        long stamp = stripe.writeLock();
        try {
            PcMeta meta = lc.pcForWrite(pc);
            if (meta.state(s) != PcMeta.UNOWNED) {
                return;
            }
            ByteBuffer segment = WholeSegments.scratch();
            writer.readAncestorSegment(owner, pc, s, ownerCrcs, segment);
            writer.materialize(lc, meta, pc, s, segment.clear(), ownerCrcs.clone());
        } finally {
            stripe.unlockWrite(stamp);
        }
    }
}
