package dev.sprig.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Lock;
import java.util.stream.LongStream;
import org.jspecify.annotations.Nullable;

/**
 * The lineage of the engine's lcs: defines (create, create-all), freezes, deletes and grows them,
 * each a journal record forced before it returns, and answers what the lcs are (info, list,
 * stats). Every change takes the engine lock exclusively.
 */
final class Catalog {

    private final EngineState state;
    private final MetaStore metaStore;
    private final Path dir;
    private final Durability durability;
    private final ConcurrentHashMap<Long, Lc> lcs;

    Catalog(EngineState state, MetaStore metaStore) {
        this.state = state;
        this.metaStore = metaStore;
        this.dir = state.dir;
        this.durability = state.durability;
        this.lcs = state.lcs;
    }

    void create(long lcId, long sizeBytes) {
        createAll(List.of(NewLc.root(lcId, sizeBytes)));
    }

    void createChild(long lcId, long parentLcId) {
        long parentSize;
        Lock l = state.shared();
        try {
            parentSize = state.lc(parentLcId).size;
        } finally {
            l.unlock();
        }
        // a frozen parent never changes size; a writable one is refused by createAll
        createAll(List.of(NewLc.child(lcId, parentLcId, parentSize)));
    }

    void createChild(long lcId, long parentLcId, long sizeBytes) {
        createAll(List.of(NewLc.child(lcId, parentLcId, sizeBytes)));
    }

    void createAll(List<NewLc> batch) {
        Journal appendedTo;
        List<Lc> created;
        Lock l = state.exclusive();
        try {
            durability.checkWritable();
            appendedTo = metaStore.journal();
            created = createAllLocked(List.copyOf(batch));
        } finally {
            l.unlock();
        }
        // Forced outside the lock, so that concurrent creates share one fsync instead of queueing
        // for one each. Until this returns, only the caller knows the new ids, so no one can use an
        // lc that is not yet durable; a child's record comes after its parent's in the journal.
        try {
            appendedTo.force(durability);
        } catch (RuntimeException e) {
            forget(created);
            throw e;
        }
    }

    /**
     * Unregisters lcs whose creation was not made durable, so that memory holds no lc the disk may
     * not have. The engine is read-only by then, so nothing else has used them.
     */
    private void forget(List<Lc> created) {
        Lock x = state.exclusiveEvenIfClosed();
        try {
            for (int i = created.size() - 1; i >= 0; i--) {
                Lc lc = created.get(i);
                Lc parent = lc.parent;
                if (lcs.remove(lc.id, lc) && parent != null) {
                    parent.children--;
                }
            }
        } finally {
            x.unlock();
        }
    }

    /** Checks and registers the batch, appending its record to the journal; the lcs it created. */
    private List<Lc> createAllLocked(List<NewLc> batch) {
        List<Lc> created = checkBatch(batch);
        if (created.isEmpty()) {
            return created;
        }
        try {
            for (Lc lc : created) {
                // a new lc starts from an empty sparse file; one left by a deleted lc with this id
                // (an unlink that failed) would hold stale bytes and space
                Files.deleteIfExists(lc.file);
            }
            metaStore.journal().append(new JournalRecord.CreateAll(batch));
        } catch (IOException e) {
            throw IoFailure.of("create " + batch.size() + " lcs", e);
        }
        for (Lc lc : created) {
            Lc parent = lc.parent;
            if (parent != null) {
                parent.children++;
            }
            lcs.put(lc.id, lc);
        }
        return created;
    }

    /**
     * Builds the lcs of a batch without registering them anywhere, so that a refused entry leaves the
     * engine as it was. A parent may be an earlier entry, which is why entries become {@code Lc}s
     * one by one.
     */
    private List<Lc> checkBatch(List<NewLc> batch) {
        if (batch.size() > JournalRecord.CreateAll.MAX_LCS) {
            throw new OutOfRangeException(
                    "batch of " + batch.size() + " lcs exceeds " + JournalRecord.CreateAll.MAX_LCS);
        }
        Map<Long, Lc> added = new HashMap<>();
        List<Lc> created = new ArrayList<>(batch.size());
        for (NewLc n : batch) {
            if (n.lcId() < 0) {
                throw new OutOfRangeException("lc id must not be negative: " + n.lcId());
            }
            checkSize(n.sizeBytes());
            if (lcs.containsKey(n.lcId()) || added.containsKey(n.lcId())) {
                throw new LcExistsException(n.lcId());
            }
            Lc parent = null;
            Long parentId = n.parentLcId();
            if (parentId != null) {
                parent = added.get(parentId);
                parent = parent != null ? parent : state.lc(parentId);
                if (!parent.frozen) {
                    throw new ParentNotFrozenException(parent.id);
                }
                if (n.sizeBytes() < parent.size) {
                    throw new OutOfRangeException(
                            "child size " + n.sizeBytes() + " is smaller than parent size " + parent.size);
                }
            }
            // a new lc has no data, so freezing it needs no flush: it is simply created frozen
            Lc lc = new Lc(n.lcId(), dir, parent, n.sizeBytes(), n.frozen());
            added.put(lc.id, lc);
            created.add(lc);
        }
        return created;
    }

    private static void checkSize(long sizeBytes) {
        if (sizeBytes <= 0 || sizeBytes > Layout.MAX_SIZE) {
            throw new OutOfRangeException(
                    "size must be between 1 and " + Layout.MAX_SIZE + " bytes (64 TiB): " + sizeBytes);
        }
    }

    void freeze(long lcId) {
        Lock l = state.exclusive();
        try {
            Lc lc = state.lc(lcId);
            if (lc.frozen) {
                return;
            }
            durability.checkWritable();
            metaStore.flushLcs(List.of(lc));
            metaStore.journal().append(new JournalRecord.Freeze(lcId));
            metaStore.journal().force(durability);
            lc.frozen = true;
            // a frozen lc's segments are only ever filled, buffered: its direct channel is an fd less
            lc.closeDirectChannel();
        } catch (IOException e) {
            throw IoFailure.of("freeze lc " + lcId, e);
        } finally {
            l.unlock();
        }
    }

    void delete(long lcId) {
        Lock l = state.exclusive();
        try {
            Lc lc = state.lc(lcId);
            if (lc.children > 0) {
                throw new LcHasChildrenException(lcId, lc.children);
            }
            durability.checkWritable();
            metaStore.journal().append(new JournalRecord.Delete(lcId));
            metaStore.journal().force(durability);
            lcs.remove(lcId);
            Lc parent = lc.parent;
            if (parent != null) {
                parent.children--;
            }
            lc.closeAndDelete();
        } catch (IOException e) {
            throw IoFailure.of("delete lc " + lcId, e);
        } finally {
            l.unlock();
        }
    }

    void grow(long lcId, long newSizeBytes) {
        Lock l = state.exclusive();
        try {
            checkSize(newSizeBytes);
            Lc lc = state.writable(lcId, "grow");
            if (newSizeBytes < lc.size) {
                throw new OutOfRangeException("cannot shrink lc " + lcId + " from " + lc.size + " to " + newSizeBytes);
            }
            durability.checkWritable();
            metaStore.journal().append(new JournalRecord.Grow(lcId, newSizeBytes));
            metaStore.journal().force(durability);
            lc.size = newSizeBytes;
        } catch (IOException e) {
            throw IoFailure.of("grow lc " + lcId, e);
        } finally {
            l.unlock();
        }
    }

    /**
     * The PCs, in order, that some ancestor of the writable lc has metadata for: the only ones a
     * flatten can have anything to copy in (any other PC reads as zeros from every ancestor).
     * Ancestors are frozen, so their PC maps no longer change.
     */
    long[] ancestorPcs(long lcId) {
        Lock l = state.shared();
        try {
            return pcsOf(state.lc(lcId).parent);
        } finally {
            l.unlock();
        }
    }

    long[] pcsWithData(long lcId) {
        Lock l = state.shared();
        try {
            return pcsOf(state.lc(lcId));
        } finally {
            l.unlock();
        }
    }

    private static long[] pcsOf(@Nullable Lc from) {
        LongStream.Builder pcs = LongStream.builder();
        for (Lc at = from; at != null; at = at.parent) {
            at.pcs.keySet().forEach(pcs::add);
        }
        return pcs.build().sorted().distinct().toArray();
    }

    LcInfo info(long lcId) {
        Lock l = state.shared();
        try {
            return infoOf(state.lc(lcId));
        } finally {
            l.unlock();
        }
    }

    List<LcInfo> list() {
        Lock l = state.shared();
        try {
            List<LcInfo> all = new ArrayList<>();
            for (Lc lc : lcs.values()) {
                all.add(infoOf(lc));
            }
            all.sort(Comparator.comparingLong(LcInfo::lcId));
            return all;
        } finally {
            l.unlock();
        }
    }

    private static LcInfo infoOf(Lc lc) {
        Lc parent = lc.parent;
        return new LcInfo(
                lc.id,
                parent != null ? OptionalLong.of(parent.id) : OptionalLong.empty(),
                lc.size,
                lc.frozen,
                lc.children);
    }

    LcStats stats(long lcId) {
        Lock l = state.shared();
        try {
            return statsOf(state.lc(lcId));
        } finally {
            l.unlock();
        }
    }

    EngineStats stats() {
        Lock l = state.shared();
        try {
            long owned = 0;
            long zero = 0;
            long pcs = 0;
            long bytes = 0;
            for (Lc lc : lcs.values()) {
                LcStats s = statsOf(lc);
                owned += s.segmentsOwned();
                zero += s.zeroSegments();
                pcs += s.pcsAllocated();
                bytes += s.bytesStored();
            }
            Throwable failure = metaStore.lastCheckpointFailure();
            return new EngineStats(
                    lcs.size(),
                    owned,
                    zero,
                    pcs,
                    bytes,
                    metaStore.journal().sizeBytes(),
                    failure != null ? String.valueOf(failure.getMessage()) : null);
        } finally {
            l.unlock();
        }
    }

    private static LcStats statsOf(Lc lc) {
        long owned = 0;
        long zero = 0;
        long pcs = 0;
        for (PcMeta meta : lc.pcs.values()) {
            int o = Integer.bitCount(meta.owned() & 0xffff);
            if (o > 0) {
                pcs++;
                owned += o;
                zero += Integer.bitCount(meta.zero() & 0xffff);
            }
        }
        return new LcStats(lc.id, owned, zero, pcs, (owned - zero) * Layout.SEGMENT_SIZE);
    }
}
