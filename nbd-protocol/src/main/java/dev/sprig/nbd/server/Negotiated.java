package dev.sprig.nbd.server;

/** What the option phase agreed on for one connection: structured replies, the metadata contexts. */
record Negotiated(boolean structuredReplies, boolean baseAllocation, boolean allocationDepth) {

    boolean anyContext() {
        return baseAllocation || allocationDepth;
    }
}
