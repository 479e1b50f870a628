/**
 * The node's binary data port: NBD, so that client-agents and any NBD client reach an lc's bytes
 * without HTTP's per-request cost. The protocol and its server (structured replies,
 * {@code base:allocation} block status) live in module nbd-protocol, shared with the client-agent;
 * this package says what an lc export is: its name, its data, and what is allocated in it.
 */
@NullMarked
package dev.sprig.node.nbd;

import org.jspecify.annotations.NullMarked;
