package dev.sprig.api.placement;

import dev.sprig.api.node.ReplicaMembership;
import java.util.Map;
import org.springframework.stereotype.Service;

/** The node views' replica-set counts, read from the database on each call (one query). */
@Service
class ReplicaCounts implements ReplicaMembership {

    private final ReplicaCountRepository repository;

    ReplicaCounts(ReplicaCountRepository repository) {
        this.repository = repository;
    }

    @Override
    public Map<String, Counts> byNode() {
        return repository.byNode();
    }

    @Override
    public Counts of(String nodeId) {
        return repository.of(nodeId);
    }

    @Override
    public long degradedSets() {
        return repository.degradedSets();
    }

    @Override
    public long rebuildingSets() {
        return repository.rebuildingSets();
    }
}
