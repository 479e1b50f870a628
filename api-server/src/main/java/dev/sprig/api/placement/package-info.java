/**
 * Where lc families live on the nodes backend: each stripe column of a family is a replica set of
 * distinct nodes with an epoch and a state per member (decision 011), recorded in PostgreSQL and
 * read from it on every backend call, so that several api-server instances agree on it.
 */
@NullMarked
package dev.sprig.api.placement;

import org.jspecify.annotations.NullMarked;
