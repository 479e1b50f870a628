/**
 * From disk to nodes: attachments fetched from api-server, each request cut at PC boundaries and
 * sent to the node holding the PC over an NBD connection of the client connection's own event loop
 * (nbd-protocol's {@code NbdChannel}, many requests in flight), with a refresh-and-retry when a node
 * says the disk's lc is frozen or gone. The NBD client itself is nbd-protocol's; this package only
 * decides which node serves what, and when to fetch the attachment again.
 */
@NullMarked
package dev.sprig.agent.route;

import org.jspecify.annotations.NullMarked;
