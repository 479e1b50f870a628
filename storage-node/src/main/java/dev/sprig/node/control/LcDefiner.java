package dev.sprig.node.control;

import dev.sprig.node.engine.ChunkEngine;
import dev.sprig.node.engine.LcInfo;
import dev.sprig.node.engine.UnknownLcException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Applies batches of lc definitions so that a repeated push is harmless: an lc that already exists
 * exactly as defined is left alone, one that exists differently is a conflict. The whole batch is
 * checked before anything is created, so a conflict leaves the node as it was.
 *
 * <p>Batches are applied one at a time: the check and the creation must see the same engine state.
 */
public final class LcDefiner {

    private final ChunkEngine engine;

    public LcDefiner(ChunkEngine engine) {
        this.engine = engine;
    }

    public synchronized DefineResult define(List<LcDefinition> batch) {
        List<LcDefinition> toCreate = check(batch);
        for (LcDefinition definition : toCreate) {
            create(definition);
        }
        return new DefineResult(toCreate.size(), batch.size() - toCreate.size());
    }

    private List<LcDefinition> check(List<LcDefinition> batch) {
        Map<Long, LcDefinition> inBatch = new HashMap<>();
        List<LcDefinition> toCreate = new ArrayList<>();
        for (LcDefinition definition : batch) {
            long lcId = definition.lcId();
            if (definition.sizeBytes() <= 0) {
                throw new DefinitionConflictException(lcId, "size must be positive");
            }
            LcDefinition earlier = inBatch.putIfAbsent(lcId, definition);
            if (earlier != null) {
                if (!earlier.equals(definition)) {
                    throw new DefinitionConflictException(lcId, "defined twice, differently, in one batch");
                }
                continue;
            }
            Optional<LcInfo> existing = find(lcId);
            if (existing.isPresent()) {
                if (!definition.matches(existing.get())) {
                    throw new DefinitionConflictException(lcId, "exists with other attributes: " + existing.get());
                }
                continue;
            }
            Long parent = definition.parentLcId();
            if (parent != null) {
                checkParent(lcId, parent, inBatch);
            }
            toCreate.add(definition);
        }
        return toCreate;
    }

    /** A parent must exist (on the node, or earlier in the batch) and be frozen: ancestors never change. */
    private void checkParent(long lcId, long parent, Map<Long, LcDefinition> inBatch) {
        LcDefinition parentInBatch = inBatch.get(parent);
        boolean frozen;
        if (parentInBatch != null && parentInBatch.lcId() != lcId) {
            frozen = parentInBatch.frozen();
        } else {
            frozen = find(parent)
                    .orElseThrow(() -> new DefinitionConflictException(lcId, "parent lc " + parent + " is not defined"))
                    .frozen();
        }
        if (!frozen) {
            throw new DefinitionConflictException(lcId, "parent lc " + parent + " is not frozen");
        }
    }

    private void create(LcDefinition definition) {
        Long parent = definition.parentLcId();
        if (parent == null) {
            engine.create(definition.lcId(), definition.sizeBytes());
        } else {
            engine.createChild(definition.lcId(), parent, definition.sizeBytes());
        }
        if (definition.frozen()) {
            engine.freeze(definition.lcId());
        }
    }

    private Optional<LcInfo> find(long lcId) {
        try {
            return Optional.of(engine.info(lcId));
        } catch (UnknownLcException absent) {
            return Optional.empty();
        }
    }
}
