package dev.sprig.node.control;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.LcExistsException;
import dev.sprig.engine.LcInfo;
import dev.sprig.engine.NewLc;
import dev.sprig.engine.OutOfRangeException;
import dev.sprig.engine.ParentNotFrozenException;
import dev.sprig.engine.UnknownLcException;
import dev.sprig.nodeapi.DefineResult;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Applies batches of lc definitions so that a repeated push is harmless: an lc that already exists
 * exactly as defined is left alone, one that exists differently is a conflict. The rest goes to the
 * engine as one {@link ChunkEngine#createAll} — checked whole, then durable with one journal record
 * — so a conflict anywhere leaves the node as it was.
 *
 * <p>Batches are not serialized here: the engine creates a batch atomically and refuses one whose
 * ids appeared meanwhile, and such a batch is checked again against what is there now. Concurrent
 * batches thus share the engine's journal fsync instead of queueing for one each.
 */
public final class LcDefiner {

    private final ChunkEngine engine;

    public LcDefiner(ChunkEngine engine) {
        this.engine = engine;
    }

    public DefineResult define(List<NewLc> batch) {
        for (int attempt = 1; ; attempt++) {
            try {
                return defineOnce(batch);
            } catch (LcExistsException raced) {
                if (attempt == 3) {
                    throw new DefinitionConflictException(raced.code(), raced.getMessage());
                }
            }
        }
    }

    private DefineResult defineOnce(List<NewLc> batch) {
        Map<Long, NewLc> seen = new HashMap<>();
        List<NewLc> toCreate = new ArrayList<>();
        for (NewLc definition : batch) {
            NewLc earlier = seen.putIfAbsent(definition.lcId(), definition);
            if (earlier != null) {
                if (!earlier.equals(definition)) {
                    throw new DefinitionConflictException(
                            definition.lcId(), "defined twice, differently, in one batch");
                }
                continue;
            }
            Optional<LcInfo> existing = find(definition.lcId());
            if (existing.isEmpty()) {
                toCreate.add(definition);
            } else if (!matches(definition, existing.get())) {
                throw new DefinitionConflictException(
                        definition.lcId(), "exists with other attributes: " + existing.get());
            }
        }
        try {
            engine.createAll(toCreate);
        } catch (LcExistsException raced) {
            throw raced;
        } catch (UnknownLcException | ParentNotFrozenException | OutOfRangeException refused) {
            // A missing or writable parent, or a bad id or size, is a conflict of this batch with the node.
            throw new DefinitionConflictException(refused.code(), refused.getMessage());
        }
        // anything else (READ_ONLY, NO_SPACE, an I/O failure) is the node's state, not the batch's:
        // it keeps its own code and status, so a caller does not take a sick node for a conflict
        return new DefineResult(toCreate.size(), seen.size() - toCreate.size());
    }

    private static boolean matches(NewLc definition, LcInfo existing) {
        Long existingParent =
                existing.parentLcId().isPresent() ? existing.parentLcId().getAsLong() : null;
        return Objects.equals(existingParent, definition.parentLcId())
                && existing.sizeBytes() == definition.sizeBytes()
                && existing.frozen() == definition.frozen();
    }

    private Optional<LcInfo> find(long lcId) {
        try {
            return Optional.of(engine.info(lcId));
        } catch (UnknownLcException absent) {
            return Optional.empty();
        }
    }
}
