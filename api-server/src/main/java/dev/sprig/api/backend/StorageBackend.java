package dev.sprig.api.backend;

import dev.sprig.api.error.SprigException;
import dev.sprig.engine.PcRuns;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * What api-server needs from storage, kept narrow so that the embedded engine and remote nodes can
 * both provide it. Lc ids are allocated by api-server (from the database); the backend stores what
 * it is told.
 */
public interface StorageBackend {

    /**
     * Defines lcs all at once, parents first (a parent may be earlier in the list); durable on
     * return; a batch that cannot be applied applies nothing.
     */
    void define(List<LcSpec> lcs);

    /** Every lc the backend holds, for comparing with the database after a crash. */
    Inventory inventory();

    /** An lc as the backend holds it. */
    record HeldLc(long lcId, @Nullable Long parentLcId, boolean frozen) {}

    /**
     * What the backend holds.
     *
     * @param held every lc some holder has (an lc that several hold may be listed by each)
     * @param heldBy for each holder whose list was read (a storage node), the lcs it holds
     * @param completeHolders for each family on replica sets, the holders that must hold every lc of
     *     it (its in-sync members); a family not listed needs each lc held somewhere
     */
    record Inventory(
            List<HeldLc> held,
            Map<String, Set<Long>> heldBy,
            Map<Long, Set<String>> completeHolders,
            Map<Long, Set<String>> settledMembers) {

        public Inventory {
            held = List.copyOf(held);
            heldBy = Map.copyOf(heldBy);
            completeHolders = Map.copyOf(completeHolders);
            settledMembers = Map.copyOf(settledMembers);
        }

        /** Lcs in one place, with nothing expected beyond each lc being held (the embedded engine). */
        public static Inventory of(List<HeldLc> held) {
            return new Inventory(held, Map.of(), Map.of(), Map.of());
        }

        /**
         * Whether {@code holder} holds a stray copy of lc {@code lcId} of family {@code familyId}:
         * the family's sets are settled (every column has its full count of in-sync members and no
         * other member) and {@code holder} is none of them, as a node that was replaced while it was
         * down and came back with its old copies. Never while the family is degraded or rebuilding:
         * then an old copy may still be worth something.
         */
        public boolean stray(String holder, long lcId, long familyId) {
            Set<String> members = settledMembers.get(familyId);
            return members != null
                    && !members.contains(holder)
                    && heldBy.getOrDefault(holder, Set.of()).contains(lcId);
        }

        /** The holders, among those read, that must hold lc {@code lcId} of family {@code familyId} and lack it. */
        public List<String> lacking(long lcId, long familyId) {
            return completeHolders.getOrDefault(familyId, Set.of()).stream()
                    .filter(holder ->
                            heldBy.containsKey(holder) && !heldBy.get(holder).contains(lcId))
                    .sorted()
                    .toList();
        }
    }

    /**
     * Brings the nodes' replica-set fences up to the epochs the database records (decision 011), for
     * nodes that missed a raise. Best effort: a node that does not answer is left for the next time.
     * Nothing where there are no replica sets.
     */
    default void pushFences() {}

    /**
     * Deletes node {@code holder}'s copy of lc {@code lcId} of family {@code familyId} if the node is
     * still a member of none of the family's sets (looked up again here); whether it deleted it.
     * Nothing where there are no replica sets.
     */
    default boolean deleteStrayCopy(String holder, long lcId, long familyId) {
        return false;
    }

    void freeze(long lcId);

    /**
     * Grows a writable lc to {@code sizeBytes} (at least its size; the new bytes read as zeros), on
     * every copy: if one cannot be grown the call fails, and growing again to the same size is
     * harmless.
     */
    void grow(long lcId, long sizeBytes);

    /** Removes an lc that has no children; removing one that is gone is not an error. */
    void delete(long lcId);

    void write(long lcId, long offset, ByteBuffer bytes);

    /** Reads {@code into.remaining()} bytes at {@code offset}, filling {@code into}. */
    void read(long lcId, long offset, ByteBuffer into);

    /**
     * Copies {@code [offset, offset + length)} of lc {@code fromLcId} into lc {@code toLcId} at the
     * same offsets, writing only the segments that are not all zeros (all-zero ones are zeroed, which
     * stores nothing); {@code offset} is a segment boundary. Where lcs live on nodes, each node holding a PC of {@code toLcId} reads it straight
     * from the node holding that PC of {@code fromLcId}.
     *
     * @return the bytes stored: the segments written (the last one cut at the range's end)
     */
    long copyRange(long fromLcId, long toLcId, long offset, long length);

    /**
     * The PCs of an lc that it or one of its ancestors holds anything in, as runs of consecutive PC
     * indexes in order; every other PC reads as zeros. A copy of the lc visits only these, so that
     * its work follows the data, not the declared size. May list a PC that reads as zeros (one
     * whose segments were all zeroed), never leaves out one that does not.
     */
    List<PcRun> pcsWithData(long lcId);

    /** PCs {@code firstPc} to {@code firstPc + pcCount - 1}. */
    record PcRun(long firstPc, long pcCount) {

        /** Runs of the sorted, distinct PC indexes {@code pcs}, adjacent ones merged. */
        public static List<PcRun> of(long[] pcs) {
            return PcRuns.of(pcs, PcRun::new);
        }
    }

    /**
     * Whether a new family could live on nodes that hold none of the families of {@code lcIds}: a
     * second copy of an image, apart from the first. Never on a single node (the embedded engine).
     */
    default boolean canPlaceApart(List<Long> lcIds) {
        return false;
    }

    /**
     * Places the family of the new root lc {@code lcId}, before it is defined, on nodes that hold
     * none of the families of {@code apartFrom}; false when there are none.
     */
    default boolean placeApart(long lcId, List<Long> apartFrom) {
        return false;
    }

    void flush(long lcId);

    /**
     * How the backend takes a raw image file written on this machine as a fresh lc's content without
     * copying its bytes again, when it stores lcs in local files (the embedded engine); empty when
     * the bytes must travel to their nodes.
     */
    default Optional<FileAdoption> fileAdoption() {
        return Optional.empty();
    }

    /** Taking a raw image file as the content of a fresh root lc (the import's fast path). */
    interface FileAdoption {

        /** Where to write the raw image for lc {@code lcId}: on the backend's file system, not yet existing. */
        Path stagingFile(long lcId);

        /** Whether the staging file should be written with direct I/O, bypassing the page cache. */
        boolean directIo();

        /**
         * Takes the file as the whole content of the fresh, empty root lc {@code lcId}; all-zero
         * segments store nothing. Durable on return.
         *
         * @return the bytes stored, in whole segments (the last cut at the lc's size)
         */
        long adopt(long lcId, Path file);
    }

    /**
     * Copies every segment the writable lc still reads from its ancestors into the lc, then detaches
     * it from its parent, durably; blocks until that is done. I/O on the lc goes on meanwhile. An lc
     * with no parent returns at once, so running it again after an interruption is correct.
     */
    void flatten(long lcId, FlattenProgress progress);

    /** Receives a flatten's progress, in PCs, as it goes (not necessarily for every PC). */
    @FunctionalInterface
    interface FlattenProgress {
        void pcsDone(long done, long total);
    }

    /**
     * Where the copies of an lc's family are (decision 011): its stripe columns, each a replica set
     * with its epoch and members; PC {@code i} is in column {@code i % columns}. Empty where there
     * are no replica sets (the embedded engine's single copy).
     */
    default List<ReplicaColumn> replicasOf(long lcId) {
        return List.of();
    }

    /**
     * {@link #replicasOf(long)} for many lcs at once (a page of disks), in a few queries whatever
     * their number; an lc without replica sets is absent. Nothing is placed here.
     */
    default Map<Long, List<ReplicaColumn>> replicasOf(Collection<Long> lcIds) {
        return Map.of();
    }

    /**
     * A client's report that member {@code nodeId} of column {@code column} of the lc's family failed
     * at {@code epoch}: the member is marked stale and the column's epoch bumped, and the remaining
     * members' fences are raised before this returns (a member whose fence cannot be raised is
     * dropped too). A report from an older epoch, or about a member that is stale already, drops
     * nothing. Returns the lc's columns as they are then.
     *
     * @throws SprigException.InvalidState where there are no replica sets (one copy: nothing to drop)
     */
    default List<ReplicaColumn> dropMember(long lcId, int column, String nodeId, long epoch) {
        throw SprigException.invalidState(
                "lc " + lcId + " has one copy and no replica sets: there is no member to drop");
    }

    /**
     * One stripe column of a family: a replica set.
     *
     * @param columns how many columns the family has
     * @param members by position
     * @param preferred the in-sync member reads try first (decision 011: the one at position
     *     {@code column % in-sync members}); null when none is in sync
     */
    record ReplicaColumn(
            long familyId,
            int column,
            int columns,
            long epoch,
            List<ReplicaMember> members,
            @Nullable String preferred) {

        public ReplicaColumn {
            members = List.copyOf(members);
        }

        public long inSyncCount() {
            return members.stream().filter(ReplicaMember::inSync).count();
        }
    }

    /**
     * A member of a replica set: an in-sync one takes writes and serves reads; a rebuilding one
     * (decision 012) takes writes but serves no read; a stale one was dropped and serves nothing.
     */
    record ReplicaMember(NodeAccess node, MemberState state) {

        public boolean inSync() {
            return state == MemberState.IN_SYNC;
        }

        public boolean rebuilding() {
            return state == MemberState.REBUILDING;
        }
    }

    /** A member's state, spelled in the API as {@link #parameter()}. */
    enum MemberState {
        IN_SYNC,
        REBUILDING,
        STALE;

        /** {@code in_sync}, {@code rebuilding} or {@code stale}. */
        public String parameter() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * Where the PCs of an lc's family live, for a client that does I/O: PC {@code i} is on
     * {@code nodes.get(i % nodes.size())}.
     */
    List<NodeAccess> placementOf(long lcId);

    /**
     * One storage node as a client reaches it.
     *
     * @param httpEndpoint the node API's base URL; null when it is this api-server itself
     * @param nbdPort the node's NBD data port (export {@code <dataToken>/<lcId>})
     * @param token the node's control token, for its HTTP API and for deriving the key that signs its
     *     data tokens; it never leaves api-server
     */
    record NodeAccess(
            String nodeId,
            @Nullable String httpEndpoint,
            @Nullable String nbdHost,
            int nbdPort,
            String token) {}

    /**
     * @param parentLcId the frozen lc it clones, null for a root lc
     * @param familyId the root lc of its family; every lc of a family lives on the same nodes
     * @param frozen freeze it right after creation
     */
    record LcSpec(long lcId, @Nullable Long parentLcId, long familyId, long sizeBytes, boolean frozen) {}
}
