package dev.sprig.api.image;

import dev.sprig.api.lineage.SizeRule;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * The image-source settings that bound what an import may reach and how much it may take, beside
 * {@code allowed-prefixes}, {@code stall-timeout} and {@code download-dir} under the same prefix
 * ({@code sprig.api.image-sources.*}).
 *
 * @param allowedPrivateHosts hosts an http(s) source may name although they resolve to a loopback,
 *     link-local, private, shared (CGNAT), unspecified or multicast address, which are refused
 *     otherwise: host names (matched exactly, e.g. {@code images.internal}), IP addresses, or CIDR
 *     blocks (e.g. {@code 10.20.0.0/16}, {@code fd00::/8}). Empty by default: only public addresses.
 * @param maxVirtualSize the largest size an imported image may declare (qemu-img's virtual size);
 *     at most 64 TiB, the largest lc
 * @param maxDownloadSize the most bytes a download of an http(s) source may have; a larger one fails
 *     its import and leaves nothing behind
 * @param maxRedirects redirects followed per download, each checked like the source itself
 */
@ConfigurationProperties("sprig.api.image-sources")
public record ImageSourceRules(
        @DefaultValue List<String> allowedPrivateHosts,
        @DefaultValue("64TB") DataSize maxVirtualSize,
        @DefaultValue("64GB") DataSize maxDownloadSize,
        @DefaultValue("5") int maxRedirects) {

    public ImageSourceRules {
        if (maxVirtualSize.toBytes() <= 0 || maxVirtualSize.toBytes() > SizeRule.MAX_BYTES) {
            throw new IllegalArgumentException("sprig.api.image-sources.max-virtual-size must be between 1 byte and "
                    + "64TB, not " + maxVirtualSize);
        }
        if (maxDownloadSize.toBytes() <= 0) {
            throw new IllegalArgumentException(
                    "sprig.api.image-sources.max-download-size must be positive, not " + maxDownloadSize);
        }
        if (maxRedirects < 0 || maxRedirects > 20) {
            throw new IllegalArgumentException(
                    "sprig.api.image-sources.max-redirects must be between 0 and 20, not " + maxRedirects);
        }
        allowedPrivateHosts = List.copyOf(allowedPrivateHosts);
    }
}
