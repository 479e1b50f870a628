package dev.sprig.api.disk;

import dev.sprig.api.database.Transactions;
import dev.sprig.api.disk.WriteLeases.WriteLease;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourceKind;
import dev.sprig.api.lineage.ResourceRepository;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import org.springframework.stereotype.Service;

/**
 * Who writes to a disk. A read-write attachment takes a lease for its holder until its tokens
 * expire (each fetch renews it); the holder ends it by detaching, or it runs out. Changes that would
 * pull the disk's bytes from under a writer (a revert) are refused while a lease is live. The lease
 * is taken under a shared lock of the disk's row and checked under an exclusive one, so that an
 * attachment and a revert are never both granted on the strength of not seeing each other.
 */
@Service
public class WriteHolders {

    /** The holder of attachments that name none. */
    public static final String UNNAMED = "unnamed";

    private static final Pattern HOLDER = Pattern.compile("[A-Za-z0-9._:@-]{1,128}");

    private final ResourceRepository resources;
    private final WriteLeases leases;
    private final Transactions tx;

    WriteHolders(ResourceRepository resources, WriteLeases leases, Transactions tx) {
        this.resources = resources;
        this.leases = leases;
        this.tx = tx;
    }

    /** A holder name as clients give it: letters, digits and {@code . _ : @ -}, at most 128 of them. */
    public static String holder(String name) {
        if (!HOLDER.matcher(name).matches()) {
            throw SprigException.invalidArgument("holder must be 1 to 128 letters, digits, '.', '_', ':', '@' or '-'");
        }
        return name;
    }

    /** The disk as it is once {@code holder}'s lease on it runs to at least {@code expiresAt}. */
    Resource open(String diskId, String holder, Instant expiresAt) {
        return Objects.requireNonNull(tx.execute(status -> {
            Resource disk = resources
                    .lockShared(diskId, ResourceKind.DISK)
                    .filter(found -> !found.state().equals(ResourceRepository.DELETING))
                    .orElseThrow(() -> SprigException.notFound("disk " + diskId));
            Attachments.attachable(disk); // no lease on a disk no one may write to now
            leases.renew(diskId, holder, expiresAt);
            return disk;
        }));
    }

    /** Ends {@code holder}'s lease on the disk, if it has one; a disk that does not exist is 404. */
    public void close(String diskId, String holder) {
        tx.executeWithoutResult(status -> {
            resources
                    .lockShared(diskId, ResourceKind.DISK)
                    .filter(found -> !found.state().equals(ResourceRepository.DELETING))
                    .orElseThrow(() -> SprigException.notFound("disk " + diskId));
            leases.end(diskId, holder);
        });
    }

    /**
     * Refuses (409) if anyone holds the disk for writing. Call it in a transaction that holds the
     * disk's row exclusively.
     */
    void requireNoWriter(Resource disk, String refused) {
        List<WriteLease> live = leases.live(disk.externId());
        if (!live.isEmpty()) {
            WriteLease longest = live.get(0);
            throw SprigException.invalidState(refused + ": disk " + disk.externId() + " is attached for writing by "
                    + (live.size() == 1 ? "'" + longest.holder() + "'" : live.size() + " holders, the last")
                    + " until " + longest.expiresAt() + "; detach it first (DELETE /v1/disks/" + disk.externId()
                    + "/attachment?holder=" + longest.holder() + ")");
        }
    }
}
