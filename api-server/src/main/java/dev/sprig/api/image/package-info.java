/** Images: base images created empty and filled by an upload (later also imported from an image store: the seed's Ymer). */
@NullMarked
package dev.sprig.api.image;

import org.jspecify.annotations.NullMarked;
