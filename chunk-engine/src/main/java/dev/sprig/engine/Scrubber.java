package dev.sprig.engine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.StampedLock;

/** Scrub: re-reads every stored segment and checks each block against its CRC32C. */
final class Scrubber {

    private final EngineState state;
    private final SegmentLocks stripes;
    private final ConcurrentHashMap<Long, Lc> lcs;

    Scrubber(EngineState state) {
        this.state = state;
        this.stripes = state.stripes;
        this.lcs = state.lcs;
    }

    ScrubReport scrub() {
        List<Lc> all;
        Lock listing = state.shared();
        try {
            all = new ArrayList<>(lcs.values());
        } finally {
            listing.unlock();
        }
        all.sort(Comparator.comparingLong(lc -> lc.id));
        long checked = 0;
        List<DamagedSegment> damaged = new ArrayList<>();
        ByteBuffer segment = ByteBuffer.allocateDirect(Layout.SEGMENT_SIZE);
        try {
            for (Lc lc : all) {
                List<Long> pcs = new ArrayList<>(lc.pcs.keySet());
                Collections.sort(pcs);
                for (long pc : pcs) {
                    Lock l = state.shared();
                    try {
                        if (lcs.get(lc.id) != lc) {
                            break;
                        }
                        checked += scrubPc(lc, pc, segment, damaged);
                    } finally {
                        l.unlock();
                    }
                }
            }
        } catch (IOException e) {
            throw new EngineIoException("scrub", e);
        }
        Collections.sort(damaged);
        return new ScrubReport(checked, damaged);
    }

    /** Checks the stored segments of one PC; the number checked. Under the shared engine lock. */
    private long scrubPc(Lc lc, long pc, ByteBuffer segment, List<DamagedSegment> damaged) throws IOException {
        PcMeta meta = lc.pcs.get(pc);
        if (meta == null) {
            return 0;
        }
        long checked = 0;
        for (int s = 0; s < Layout.SEGMENTS_PER_PC; s++) {
            StampedLock stripe = stripes.of(lc.id, pc, s);
            long stamp = stripe.readLock();
            try {
                if (meta.state(s) != PcMeta.DATA) {
                    continue;
                }
                checked++;
                segment.clear();
                SegmentReader.readFully(lc, Layout.segmentOffset(pc, s), segment.duplicate());
                if (BlockCrc.firstMismatch(segment, 0, Layout.SEGMENT_SIZE, meta.crcs(s), 0) >= 0) {
                    damaged.add(new DamagedSegment(lc.id, pc, s));
                }
            } finally {
                stripe.unlockRead(stamp);
            }
        }
        return checked;
    }
}
