package dev.sprig.api.cache;

/**
 * A clone found its image without a cached copy (evicted, or still importing). Not an answer to a
 * client: the caller has {@link ImageCache#fill} the cache and tries again.
 */
public final class ImageNotCached extends RuntimeException {

    private final String imageId;

    public ImageNotCached(String imageId) {
        super("image " + imageId + " has no cached copy", null, false, false);
        this.imageId = imageId;
    }

    public String imageId() {
        return imageId;
    }
}
