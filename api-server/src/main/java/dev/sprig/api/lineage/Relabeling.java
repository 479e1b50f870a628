package dev.sprig.api.lineage;

import dev.sprig.api.database.Transactions;
import dev.sprig.api.error.SprigException;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Service;

/**
 * Changes the labels of an image, disk or snapshot by a JSON merge patch, under the resource's row
 * lock: two patches of one resource apply one after the other, neither undoing the other's keys.
 */
@Service
public class Relabeling {

    private final ResourceRepository resources;
    private final Transactions tx;

    Relabeling(ResourceRepository resources, Transactions tx) {
        this.resources = resources;
        this.tx = tx;
    }

    /** The resource as it is once {@code patch} is applied to its labels ({@link Labels#patched}). */
    public Resource relabel(String externId, ResourceKind kind, Map<String, @Nullable String> patch) {
        String what = kind.name().toLowerCase(Locale.ROOT) + " " + externId;
        if (ResourceKind.ofExternId(externId) != kind) {
            throw SprigException.notFound(what);
        }
        return Objects.requireNonNull(tx.execute(status -> {
            Resource resource = resources
                    .lock(externId, kind)
                    .filter(found -> !found.state().equals(ResourceRepository.DELETING))
                    .orElseThrow(() -> SprigException.notFound(what));
            Labels next = resource.labels().patched(patch);
            if (!next.equals(resource.labels())) {
                resources.setLabels(externId, next);
            }
            return resources.find(externId, kind).orElseThrow();
        }));
    }
}
