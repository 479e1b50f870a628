/**
 * The image cache (the seed's Frigga): copies of images imported from a source, kept within a
 * capacity by evicting the least recently used copy that nothing reads from, and filled again, once
 * for any number of waiting requests, when an evicted image is cloned.
 */
@NullMarked
package dev.sprig.api.cache;

import org.jspecify.annotations.NullMarked;
