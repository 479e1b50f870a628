package dev.sprig.api.disk;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code sprig.api.attachments.*}.
 *
 * @param tokenLifetime how long the data tokens of an attachment open the disk's exports; a
 *     client-agent fetches the attachment again before then. Short, so that a client whose API key
 *     was revoked loses the disk soon after; long enough that refreshing costs nothing.
 */
@ConfigurationProperties("sprig.api.attachments")
public record AttachmentProperties(@DefaultValue("1h") Duration tokenLifetime) {

    public AttachmentProperties {
        if (tokenLifetime.compareTo(Duration.ofSeconds(1)) < 0 || tokenLifetime.compareTo(Duration.ofDays(7)) > 0) {
            throw new IllegalArgumentException(
                    "sprig.api.attachments.token-lifetime must be between 1s and 7d; it is " + tokenLifetime);
        }
    }
}
