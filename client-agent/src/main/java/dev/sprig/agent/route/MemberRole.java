package dev.sprig.agent.route;

import org.jspecify.annotations.Nullable;

/**
 * What the agent does with a replica-set member, from the state api-server lists it in (decisions
 * 011 and issue 20): an {@code in_sync} member takes writes and serves reads; a {@code rebuilding}
 * member (being filled by a background copy) takes every write but serves no read nor block status;
 * anything else ({@code stale}, a state a later api-server may add, or a member without an NBD URI,
 * which the agent could not write to) is left alone.
 */
enum MemberRole {
    READS_AND_WRITES,
    WRITES_ONLY,
    IGNORED;

    static MemberRole of(String state, @Nullable String nbd) {
        if (nbd == null) {
            return IGNORED;
        }
        return switch (state) {
            case "in_sync" -> READS_AND_WRITES;
            case "rebuilding" -> WRITES_ONLY;
            default -> IGNORED;
        };
    }
}
