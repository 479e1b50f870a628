/**
 * The node's binary data port: NBD, so that client-agents and any NBD client reach an lc's bytes
 * without HTTP's per-request cost. The protocol and its server (structured replies, block status,
 * back-pressure) live in module nbd-protocol, shared with the client-agent; this package says what
 * an lc export is: its name, its data, what reads as data or zeros ({@code base:allocation}) and
 * which lc of the chain supplies each range ({@code qemu:allocation-depth}).
 */
@NullMarked
package dev.sprig.node.nbd;

import org.jspecify.annotations.NullMarked;
