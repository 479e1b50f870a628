package dev.sprig.api;

import dev.sprig.engine.ChunkEngine;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * Everything api-server reads from {@code sprig.api.*}, with its defaults: one record, nested by
 * area, so that a setting and its default are found in one place. (The image cache and the leader
 * election have their own prefixes and records: {@code sprig.cache.*}, {@code sprig.leader.*}.)
 *
 * @param database where metadata lives
 * @param backend where data lives
 * @param apiKeys the bearer keys clients use; when empty, one is generated at start-up and logged
 *     once, so that the default run is never open
 * @param adminKeys the bearer keys of operators and storage nodes (the node registry); they also
 *     work as client keys; when empty, one is generated at start-up and logged once
 * @param metricsKeys bearer keys that read {@code /actuator/prometheus} and nothing else (Prometheus's);
 *     none by default
 * @param nodes when a registered node counts as unreachable or down
 * @param imageSources where images may be imported from, and how much an import may take
 * @param attachments what a disk's attachment hands out
 * @param operations how long-running work is run
 * @param recovery how members whose node is down are replaced and rebuilt (decision 012)
 * @param scrub how often the replicas are compared and repaired
 * @param idempotencyRetention how long an answered {@code Idempotency-Key} is kept: long enough for
 *     any client's retries, short enough that a fleet launched every day does not grow the table for
 *     ever. A retry after that runs again.
 */
@ConfigurationProperties("sprig.api")
public record SprigApiProperties(
        @DefaultValue Database database,
        @DefaultValue Backend backend,
        @DefaultValue List<String> apiKeys,
        @DefaultValue List<String> adminKeys,
        @DefaultValue List<String> metricsKeys,
        @DefaultValue Nodes nodes,
        @DefaultValue ImageSources imageSources,
        @DefaultValue DiskAttachments attachments,
        @DefaultValue Operations operations,
        @DefaultValue Recovery recovery,
        @DefaultValue Scrub scrub,
        @DefaultValue("24h") Duration idempotencyRetention) {

    /**
     * @param allowedPrefixes a source URL must start with one of these (e.g. {@code https:} or
     *     {@code file:/srv/images/}); anything else is refused. {@code file:} is not allowed by
     *     default: it would let any client read any file api-server can read.
     * @param stallTimeout a download from which nothing arrives for this long fails (as does one
     *     whose server does not answer within it), rather than holding its import forever
     * @param downloadDir where downloads of http(s) sources are kept while they are imported (each
     *     is deleted when its import ends); beside the other data, not in the system's temp dir,
     *     which is often small or in memory
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
    public record ImageSources(
            @DefaultValue({"http:", "https:"}) List<String> allowedPrefixes,
            @DefaultValue("60s") Duration stallTimeout,
            @DefaultValue("./data/downloads") Path downloadDir,
            @DefaultValue List<String> allowedPrivateHosts,
            @DefaultValue("64TB") DataSize maxVirtualSize,
            @DefaultValue("64GB") DataSize maxDownloadSize,
            @DefaultValue("5") int maxRedirects) {

        public ImageSources {
            if (maxVirtualSize.toBytes() <= 0 || maxVirtualSize.toBytes() > ChunkEngine.MAX_SIZE) {
                throw new IllegalArgumentException("sprig.api.image-sources.max-virtual-size must be between 1 byte"
                        + " and 64TB, not " + maxVirtualSize);
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

    /**
     * {@code sprig.api.attachments.*}.
     *
     * @param tokenLifetime how long the data tokens of an attachment open the disk's exports; a
     *     client-agent fetches the attachment again before then. Short, so that a client whose API key
     *     was revoked loses the disk soon after; long enough that refreshing costs nothing.
     */
    public record DiskAttachments(@DefaultValue("1h") Duration tokenLifetime) {

        public DiskAttachments {
            if (tokenLifetime.compareTo(Duration.ofSeconds(1)) < 0 || tokenLifetime.compareTo(Duration.ofDays(7)) > 0) {
                throw new IllegalArgumentException(
                        "sprig.api.attachments.token-lifetime must be between 1s and 7d; it is " + tokenLifetime);
            }
        }
    }

    /**
     * {@code sprig.api.operations.*}.
     *
     * @param maxAttempts how many times an operation is taken up (at start-up or on fail-over, its
     *     runs having died with their process each time: killed for memory, say) before it is failed
     *     with ATTEMPTS_EXHAUSTED instead of being run again at every start-up
     */
    public record Operations(@DefaultValue("3") int maxAttempts) {

        public Operations {
            if (maxAttempts < 1) {
                throw new IllegalArgumentException(
                        "sprig.api.operations.max-attempts must be at least 1: " + maxAttempts);
            }
        }
    }

    /**
     * {@code sprig.api.recovery.*}: re-replication (decision 012). The leader replaces a member whose
     * node has been down ({@code sprig.api.nodes.down-after}) by a new node, which is filled from an
     * in-sync member node to node, a PC per node call, up to {@code concurrentCopies} at a time.
     *
     * @param enabled whether the leader starts recoveries (running ones are resumed regardless)
     * @param bytesPerSecond the most one node sends or receives for recoveries, its concurrent copies
     *     together (each copy gets an equal share). 32 MB: when this default was chosen a copied MiB
     *     cost about 15 ms of CPU on its source and target together (fetch, CRC checks, write, fsync;
     *     {@code bench/recovery}'s cluster), so 100 MB/s took about 1.4 cores of the 2-core machine
     *     the benchmarks run on and client reads kept a twentieth to a fifth of their rate. Copies
     *     have become cheaper since (an unthrottled rebuild now moves several hundred MiB/s there,
     *     docs/benchmarks.md), so 32 MB/s leaves clients more than that estimate says. Raise it where
     *     each node has cores of its own.
     * @param concurrentCopies how many PC copies one node takes part in at once, as source or target.
     *     4: a copy's PC waits on the disk at its source (a 4 MiB direct read) and at its target (a
     *     4 MiB direct write and an fsync), and with 2 a drain onto one node moved about 420 MiB/s
     *     where the disk takes about 630 MiB/s each way mixed; with 4, about 500 (a dev harness of
     *     repeated drains of a 3 GiB disk). Each copy holds two PCs (8 MiB) on its target.
     * @param scanInterval how often the leader looks for members to replace
     */
    public record Recovery(
            @DefaultValue("true") boolean enabled,
            @DefaultValue("32MB") DataSize bytesPerSecond,
            @DefaultValue("4") int concurrentCopies,
            @DefaultValue("10s") Duration scanInterval) {

        public Recovery {
            if (bytesPerSecond.toBytes() < 1) {
                throw new IllegalArgumentException(
                        "sprig.api.recovery.bytes-per-second must be positive, not " + bytesPerSecond);
            }
            if (concurrentCopies < 1 || concurrentCopies > 64) {
                throw new IllegalArgumentException(
                        "sprig.api.recovery.concurrent-copies must be between 1 and 64, not " + concurrentCopies);
            }
            if (scanInterval.compareTo(Duration.ofMillis(100)) < 0) {
                throw new IllegalArgumentException(
                        "sprig.api.recovery.scan-interval must be at least 100ms, not " + scanInterval);
            }
        }

        /** Each copy's share of a node's {@link #bytesPerSecond}. */
        public long bytesPerSecondPerCopy() {
            return Math.max(1, bytesPerSecond.toBytes() / concurrentCopies);
        }
    }

    /**
     * {@code sprig.api.scrub.*}: the replica scrub (issue 20). The leader starts one every {@code
     * interval} (0: only when asked, {@code POST /v1/replica-sets:scrub}).
     *
     * @param interval how often the leader scrubs the replicas; 0 turns the periodic scrub off
     * @param settle how long a difference between members must last, unchanged, before it counts:
     *     longer than a write takes to reach every member or have a slow one dropped (the agent's node
     *     timeout is 5 s), so that a write in flight is never taken for a divergence
     * @param nodeTimeout how long one node's check of its own segments may take before the scrub
     *     gives up on that node (its copies are then compared, not checked)
     */
    public record Scrub(
            @DefaultValue("7d") Duration interval,
            @DefaultValue("15s") Duration settle,
            @DefaultValue("6h") Duration nodeTimeout) {

        public Scrub {
            if (interval.isNegative() || (!interval.isZero() && interval.compareTo(Duration.ofMinutes(1)) < 0)) {
                throw new IllegalArgumentException(
                        "sprig.api.scrub.interval must be 0 (off) or at least 1m, not " + interval);
            }
            if (settle.isNegative() || nodeTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
                throw new IllegalArgumentException("sprig.api.scrub.settle must not be negative and"
                        + " sprig.api.scrub.node-timeout at least 1s; got " + settle + " and " + nodeTimeout);
            }
        }
    }

    /**
     * @param unreachableAfter a node whose last heartbeat is older is unreachable: nothing new is
     *     placed on it
     * @param downAfter a node whose last heartbeat is older is down
     */
    public record Nodes(
            @DefaultValue("15s") Duration unreachableAfter,
            @DefaultValue("60s") Duration downAfter) {}

    /**
     * @param startupTimeout how long start-up waits for an external database to answer before it
     *     gives up with one clear message (kept under 30 s so that a wrong URL fails fast)
     * @param embedded the embedded PostgreSQL used when {@code spring.datasource.url} is not set
     * @param retryAfter what a 503 for a lost database connection tells the client to wait (about
     *     what a restart of PostgreSQL takes)
     */
    public record Database(
            @DefaultValue("20s") Duration startupTimeout,
            @DefaultValue Embedded embedded,
            @DefaultValue("2s") Duration retryAfter) {}

    /**
     * @param dataDir where the embedded server keeps its files; state survives restarts
     * @param port the port it listens on (127.0.0.1); 0 picks a free one
     */
    public record Embedded(
            @DefaultValue("./data/postgres") Path dataDir,
            @DefaultValue("0") int port) {}

    /**
     * @param type {@code embedded}: the chunk engine in this process; {@code nodes}: the storage
     *     nodes of the node registry, over HTTP
     * @param embedded settings of the embedded engine
     * @param nodes settings of the storage-nodes backend
     */
    public record Backend(
            @DefaultValue("embedded") String type,
            @DefaultValue EmbeddedEngine embedded,
            @DefaultValue NodesBackend nodes) {}

    /**
     * @param stripeWidth how many nodes a new family's PCs are striped over (fewer if fewer are up)
     * @param callTimeout the longest one control call to a node may take (define, freeze, delete,
     *     flush); with retries, a request that needs a dead node fails within about a second
     * @param dataTimeout the longest one data call may take (a write of up to a PC)
     * @param retryAfter what a 503 for an unavailable node tells the client to wait
     * @param replicas how many distinct nodes hold each stripe column of a new family (its replica
     *     set, decision 011); 1 for development. Families placed before keep their sets.
     * @param minInSync the fewest {@code in_sync} members a column may keep when a member that does
     *     not answer is dropped; a request that would leave fewer fails with {@code 503
     *     INSUFFICIENT_REPLICAS}. At most {@code replicas}: a larger value counts as {@code replicas}
     *     (see {@link #effectiveMinInSync()}), so that {@code replicas=1} works with the default.
     */
    public record NodesBackend(
            @DefaultValue("3") int stripeWidth,
            @DefaultValue("300ms") Duration callTimeout,
            @DefaultValue("10s") Duration dataTimeout,
            @DefaultValue("5s") Duration retryAfter,
            @DefaultValue("3") int replicas,
            @DefaultValue("2") int minInSync) {

        /** The most members a replica set may have (the database's limit on a member's position). */
        public static final int MAX_REPLICAS = 16;

        public NodesBackend {
            if (stripeWidth < 1 || stripeWidth > 64) {
                throw new IllegalArgumentException(
                        "sprig.api.backend.nodes.stripe-width must be between 1 and 64, not " + stripeWidth);
            }
            if (replicas < 1 || replicas > MAX_REPLICAS) {
                throw new IllegalArgumentException(
                        "sprig.api.backend.nodes.replicas must be between 1 and " + MAX_REPLICAS + ", not " + replicas);
            }
            if (minInSync < 1) {
                throw new IllegalArgumentException(
                        "sprig.api.backend.nodes.min-in-sync must be at least 1, not " + minInSync);
            }
        }

        /** {@code min-in-sync}, at most {@code replicas}. */
        public int effectiveMinInSync() {
            return Math.min(minInSync, replicas);
        }
    }

    /** @param dataDir where the embedded engine keeps lc data */
    public record EmbeddedEngine(
            @DefaultValue("./data/engine") Path dataDir) {}
}
