/**
 * Which api-server instance leads: the one holding a PostgreSQL advisory lock, keyed by the schema,
 * on a connection of its own. Instances sharing a database run long work (operations) only on the
 * leader; the others serve every other request. This package knows nothing of that work: others
 * ask {@link dev.sprig.api.leader.Leadership#leads()} or are told when this instance becomes leader.
 */
@NullMarked
package dev.sprig.api.leader;

import org.jspecify.annotations.NullMarked;
