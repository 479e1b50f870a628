/**
 * The seed's Metaserver: extern_id → lc, the lc tree (families, frozen ancestors) and the resources
 * (images, disks, snapshots) that point into it, stored in PostgreSQL with plain SQL so that bulk
 * inserts are batched and lineage queries are recursive CTEs.
 */
@NullMarked
package dev.sprig.api.lineage;

import org.jspecify.annotations.NullMarked;
