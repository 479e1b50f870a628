package dev.sprig.agent.route;

import dev.sprig.nbd.server.NbdExport;
import dev.sprig.nbd.server.NbdExports;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jspecify.annotations.Nullable;

/**
 * Export names are disk extern_ids; opening one fetches the disk's attachment from api-server.
 * NBD_OPT_LIST names the caller's disks, the first {@value #LISTED} of them (nbdinfo --list and
 * friends are for people looking, not for inventories).
 */
public final class AttachedDisks implements NbdExports, AutoCloseable {

    static final int LISTED = 10_000;

    private final Attachments attachments;
    private final NodeChannels channels;
    private final Duration replicaWait;
    /**
     * Fetches attachments again when a node says the disk moved, and reports failed members: HTTP
     * calls, never on an event loop.
     */
    private final ExecutorService refresher = Executors.newCachedThreadPool(work -> {
        Thread thread = new Thread(work, "attachment-refresh");
        thread.setDaemon(true);
        return thread;
    });

    public AttachedDisks(Attachments attachments, NodeChannels channels) {
        this(attachments, channels, ProxiedDisk.REPLICA_WAIT);
    }

    /**
     * @param replicaWait how long a write to a disk with replica sets waits for api-server to drop a
     *     failed member (while it answers {@code INSUFFICIENT_REPLICAS}) before the client hears EIO
     */
    public AttachedDisks(Attachments attachments, NodeChannels channels, Duration replicaWait) {
        this.attachments = attachments;
        this.channels = channels;
        this.replicaWait = replicaWait;
    }

    @Override
    public @Nullable NbdExport open(String exportName) throws IOException {
        try {
            return new ProxiedDisk(attachments.of(exportName), attachments, channels, refresher, replicaWait);
        } catch (UnknownDiskException unknown) {
            return null;
        }
    }

    @Override
    public List<String> list() throws IOException {
        return attachments.diskIds(LISTED);
    }

    @Override
    public void close() {
        refresher.shutdownNow();
    }
}
