package dev.sprig.api.placement;

import java.util.List;

/**
 * One stripe column of a family: PC {@code i} of every lc of the family is in column
 * {@code i % columns} and stored on every member of that column's set. Members that are
 * {@code in_sync} have every acknowledged write; a {@code stale} one was dropped (its column's epoch
 * went up when it was) and serves nothing; a {@code rebuilding} one (decision 012) takes every write
 * and the family's control calls while a recovery fills it, but serves no read.
 *
 * @param members by position
 */
public record ReplicaSet(long familyId, int column, long epoch, List<Member> members) {

    public ReplicaSet {
        members = List.copyOf(members);
    }

    /** A member's state; the database spells them {@code in_sync}, {@code stale} and {@code rebuilding}. */
    public enum State {
        IN_SYNC("in_sync"),
        STALE("stale"),
        REBUILDING("rebuilding");

        private final String column;

        State(String column) {
            this.column = column;
        }

        /** How the database spells it. */
        public String column() {
            return column;
        }

        public static State ofColumn(String value) {
            for (State state : values()) {
                if (state.column.equals(value)) {
                    return state;
                }
            }
            throw new IllegalArgumentException("unknown replica member state " + value);
        }
    }

    /** @param position its place in the set, from 0 */
    public record Member(String nodeId, int position, State state) {

        public boolean inSync() {
            return state == State.IN_SYNC;
        }

        /** In sync or rebuilding: it takes writes and control calls. */
        public boolean takesWrites() {
            return state != State.STALE;
        }
    }

    /** The ids of the members that take writes (in sync or rebuilding), by position. */
    public List<String> writerNodeIds() {
        return members.stream().filter(Member::takesWrites).map(Member::nodeId).toList();
    }

    /** The members being rebuilt, by position. */
    public List<Member> rebuilding() {
        return members.stream()
                .filter(member -> member.state() == State.REBUILDING)
                .toList();
    }

    public boolean hasRebuilding(String nodeId) {
        return members.stream()
                .anyMatch(member ->
                        member.state() == State.REBUILDING && member.nodeId().equals(nodeId));
    }

    /** The in-sync members, by position. */
    public List<Member> inSync() {
        return members.stream().filter(Member::inSync).toList();
    }

    /** The ids of the in-sync members, by position. */
    public List<String> inSyncNodeIds() {
        return members.stream().filter(Member::inSync).map(Member::nodeId).toList();
    }

    public boolean hasInSync(String nodeId) {
        return members.stream()
                .anyMatch(member -> member.inSync() && member.nodeId().equals(nodeId));
    }

    /**
     * The in-sync members in the order reads should try them: column {@code c} starts at the one at
     * {@code c % count}, so that the columns spread their reads over the members.
     */
    public List<String> readOrder() {
        List<String> inSync = inSyncNodeIds();
        if (inSync.isEmpty()) {
            return inSync;
        }
        int first = column % inSync.size();
        java.util.ArrayList<String> order = new java.util.ArrayList<>(inSync.size());
        for (int i = 0; i < inSync.size(); i++) {
            order.add(inSync.get((first + i) % inSync.size()));
        }
        return order;
    }
}
