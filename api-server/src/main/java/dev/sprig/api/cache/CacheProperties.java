package dev.sprig.api.cache;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * The image cache's settings ({@code sprig.cache.*}).
 *
 * @param capacity image data (bytes of segments that are not all zero) that copies of images
 *     imported from a source may hold together; an import that would pass it first evicts the least
 *     recently used copies nothing reads from. Uploaded images are pinned and do not count.
 * @param maxClonesPerCopy clones one copy should carry; past it a copy counts as over its limit (in
 *     {@code GET /v1/cache} and the metrics)
 */
@ConfigurationProperties("sprig.cache")
public record CacheProperties(
        @DefaultValue("100GB") DataSize capacity,
        @DefaultValue("1000") int maxClonesPerCopy) {

    public CacheProperties {
        if (capacity.toBytes() <= 0) {
            throw new IllegalArgumentException("sprig.cache.capacity must be positive, not " + capacity);
        }
        if (maxClonesPerCopy < 1) {
            throw new IllegalArgumentException("sprig.cache.max-clones-per-copy must be at least 1");
        }
    }
}
