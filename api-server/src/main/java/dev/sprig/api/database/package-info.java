/**
 * Where metadata lives: the embedded PostgreSQL that makes api-server a complete system with no
 * configuration, and the start-up checks that turn a wrong external database into one clear message.
 */
@NullMarked
package dev.sprig.api.database;

import org.jspecify.annotations.NullMarked;
