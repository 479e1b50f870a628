package dev.sprig.agent.route;

import dev.sprig.nbd.server.NbdDisk;
import dev.sprig.nbd.server.NbdExports;
import java.io.IOException;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Export names are disk extern_ids; opening one fetches the disk's attachment from api-server.
 * NBD_OPT_LIST names the caller's disks, the first {@value #LISTED} of them (nbdinfo --list and
 * friends are for people looking, not for inventories).
 */
public final class AttachedDisks implements NbdExports {

    static final int LISTED = 10_000;

    private final Attachments attachments;
    private final NodePool pool;

    public AttachedDisks(Attachments attachments, NodePool pool) {
        this.attachments = attachments;
        this.pool = pool;
    }

    @Override
    public @Nullable NbdDisk open(String exportName) throws IOException {
        try {
            return new RoutedDisk(attachments.of(exportName), attachments, pool);
        } catch (UnknownDiskException unknown) {
            return null;
        }
    }

    @Override
    public List<String> list() throws IOException {
        return attachments.diskIds(LISTED);
    }
}
