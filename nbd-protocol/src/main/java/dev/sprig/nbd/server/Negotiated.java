package dev.sprig.nbd.server;

/** What the option phase agreed on for one connection. */
record Negotiated(boolean structuredReplies, boolean baseAllocation) {}
