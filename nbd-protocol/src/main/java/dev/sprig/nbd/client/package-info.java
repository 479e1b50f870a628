/**
 * The client side of NBD, one implementation for every Sprig caller: {@link
 * dev.sprig.nbd.client.NbdChannel} is a Netty connection to one export with many requests in flight
 * (the client-agent forwards to storage nodes over it, on its own event loops), and {@link
 * dev.sprig.nbd.client.NbdClient} the same connection for a thread that waits for each answer
 * (api-server's imports read qemu-nbd with it).
 */
@NullMarked
package dev.sprig.nbd.client;

import org.jspecify.annotations.NullMarked;
