/**
 * The node's binary data port: NBD (fixed newstyle, simple replies) so that client-agents and any
 * NBD client reach an lc's bytes without HTTP's per-request cost. Split as nbdkit splits it: the
 * protocol's numbers ({@link dev.sprig.nbd.Nbd}, shared with the client-agent), the handshake, and transmission.
 */
@NullMarked
package dev.sprig.node.nbd;

import org.jspecify.annotations.NullMarked;
