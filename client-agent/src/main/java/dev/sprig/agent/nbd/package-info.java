/**
 * The agent's NBD server facing QEMU and the NBD tools, split as nbdkit splits it: the handshake
 * (exports are disks, named by extern_id), transmission (bounds checks, worker pool, out-of-order
 * simple replies), and the {@link dev.sprig.agent.nbd.Disk} it serves, which knows nothing of NBD
 * framing. The protocol's numbers and request decoding are shared with the storage node
 * ({@code dev.sprig.nbd}).
 */
@NullMarked
package dev.sprig.agent.nbd;

import org.jspecify.annotations.NullMarked;
