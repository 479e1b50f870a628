/**
 * Images: base images created empty and filled by an upload, or imported from a source URL (the
 * seed's Ymer: {@link dev.sprig.api.image.ImportWork}, reading raw and qcow2 through a read-only
 * qemu-nbd child process).
 */
@NullMarked
package dev.sprig.api.image;

import org.jspecify.annotations.NullMarked;
