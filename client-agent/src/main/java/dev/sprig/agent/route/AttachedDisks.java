package dev.sprig.agent.route;

import dev.sprig.agent.nbd.Disk;
import dev.sprig.agent.nbd.Disks;
import java.io.IOException;
import org.jspecify.annotations.Nullable;

/** Export names are disk extern_ids; opening one fetches the disk's attachment from api-server. */
public final class AttachedDisks implements Disks {

    private final Attachments attachments;
    private final NodePool pool;

    public AttachedDisks(Attachments attachments, NodePool pool) {
        this.attachments = attachments;
        this.pool = pool;
    }

    @Override
    public @Nullable Disk open(String exportName) throws IOException {
        try {
            return new RoutedDisk(attachments.of(exportName), attachments, pool);
        } catch (UnknownDiskException unknown) {
            return null;
        }
    }
}
