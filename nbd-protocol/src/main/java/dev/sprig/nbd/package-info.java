/**
 * What every Sprig NBD server shares, whatever it serves: the protocol's numbers and the cutting of
 * the transmission byte stream into requests. The storage node serves lcs with it, the client-agent
 * serves disks; each keeps its own handshake and transmission, which is where they differ.
 */
@NullMarked
package dev.sprig.nbd;

import org.jspecify.annotations.NullMarked;
