package dev.sprig.api.recovery;

import dev.sprig.api.backend.ReplicaCopies.HeldSegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * The replica scrub's verdict on one lc of one replica set: given what each in-sync member holds
 * itself in the set's column (state and block CRCs per segment) and which of its segments failed
 * the member's own CRC check, which members must be repaired, from whom, with what.
 *
 * <p>The good content of a segment is what a strict majority of the members hold; a member whose
 * copy differs from it, or matches it but rotted on disk, is repaired from a member that holds it
 * intact. Without a strict majority (two members that disagree), or when the majority is "nothing"
 * (a member holds a segment the others do not, which a repair cannot take away), or when no member
 * holds it intact, nothing is guessed: the segment is unresolved, for an operator to look at.
 * Choosing the wrong copy as the good one is the failure users of replicated storage fear most.
 */
final class ReplicaComparison {

    /** Why a member's copy of a segment is wrong. */
    enum Reason {
        /** Its bytes do not match its own CRCs (it rotted on disk). */
        DAMAGED,
        /** Its content (state or CRCs) differs from the majority's. */
        DIFFERED;

        String column() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * A member's copy of a segment that is wrong: repaired from {@code source} with {@code wanted}
     * when {@code source} is not null, else unresolved.
     *
     * @param segment numbered across the lc ({@code pc * 16 + segment})
     * @param held what the member holds itself (null: nothing)
     */
    record Finding(
            long segment,
            String nodeId,
            Reason reason,
            @Nullable HeldSegment held,
            @Nullable HeldSegment wanted,
            @Nullable String source) {

        boolean resolved() {
            return source != null;
        }
    }

    private ReplicaComparison() {}

    /**
     * @param held per in-sync member, in preference order for a source: its segments by number
     * @param damaged per member: the segments (by number) whose bytes failed its own CRCs
     */
    static List<Finding> compare(Map<String, Map<Long, HeldSegment>> held, Map<String, Set<Long>> damaged) {
        Set<Long> segments = new TreeSet<>();
        held.values().forEach(bySegment -> segments.addAll(bySegment.keySet()));
        damaged.forEach((member, bad) -> {
            if (held.containsKey(member)) {
                segments.addAll(bad);
            }
        });
        List<Finding> findings = new ArrayList<>();
        for (long segment : segments) {
            Map<String, @Nullable HeldSegment> copies = new LinkedHashMap<>();
            held.forEach((member, bySegment) -> copies.put(member, bySegment.get(segment)));
            @Nullable Majority majority = majorityOf(copies.values());
            if (majority == null) {
                copies.forEach((member, copy) ->
                        findings.add(new Finding(segment, member, Reason.DIFFERED, copy, null, null)));
                continue;
            }
            @Nullable HeldSegment wanted = majority.content();
            List<String> intact = new ArrayList<>();
            Map<String, Reason> wrong = new LinkedHashMap<>();
            copies.forEach((member, copy) -> {
                boolean rotted = copy != null
                        && !copy.zero()
                        && damaged.getOrDefault(member, Set.of()).contains(segment);
                if (!Objects.equals(copy, wanted)) {
                    wrong.put(member, Reason.DIFFERED);
                } else if (rotted) {
                    wrong.put(member, Reason.DAMAGED);
                } else {
                    intact.add(member);
                }
            });
            @Nullable String source = wanted != null && !intact.isEmpty() ? intact.get(0) : null;
            wrong.forEach((member, reason) ->
                    findings.add(new Finding(segment, member, reason, copies.get(member), wanted, source)));
        }
        return findings;
    }

    /** What a strict majority holds (its content null: nothing). */
    private record Majority(@Nullable HeldSegment content) {}

    private static @Nullable Majority majorityOf(java.util.Collection<@Nullable HeldSegment> copies) {
        for (@Nullable HeldSegment candidate : copies) {
            long agreeing = copies.stream()
                    .filter(copy -> Objects.equals(copy, candidate))
                    .count();
            if (agreeing * 2 > copies.size()) {
                return new Majority(candidate);
            }
        }
        return null;
    }
}
