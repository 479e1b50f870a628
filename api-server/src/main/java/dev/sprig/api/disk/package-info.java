/**
 * Disks: writable clones of images, snapshots and disks, created by metadata alone; their
 * snapshots, attachments, and flatten (an operation that makes a disk independent of its ancestors).
 */
@NullMarked
package dev.sprig.api.disk;

import org.jspecify.annotations.NullMarked;
