/** Disks: writable clones of images (and later of snapshots and disks), created by metadata alone. */
@NullMarked
package dev.sprig.api.disk;

import org.jspecify.annotations.NullMarked;
