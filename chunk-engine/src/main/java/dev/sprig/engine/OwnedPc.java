package dev.sprig.engine;

import java.util.Arrays;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What an lc itself holds in one PC (not through its parent): the state of each of its 16
 * segments and, for each DATA segment, its 64 block CRC32Cs ({@code crcs.get(s)} is null for the
 * others). A replica compares these with another copy's to find what it lacks or what differs.
 */
public record OwnedPc(long pc, List<SegmentState> states, List<int @Nullable []> crcs) {

    public OwnedPc {
        states = List.copyOf(states);
        crcs = java.util.Collections.unmodifiableList(Arrays.asList(crcs.toArray(new int[0][])));
    }

    public SegmentState state(int segment) {
        return states.get(segment);
    }
}
