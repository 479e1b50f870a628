package dev.sprig.nodeapi;

import java.util.List;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.service.annotation.DeleteExchange;
import org.springframework.web.service.annotation.GetExchange;
import org.springframework.web.service.annotation.PostExchange;
import org.springframework.web.service.annotation.PutExchange;

/**
 * A storage node's HTTP API as its callers see it; every call needs {@code Authorization: Bearer
 * <node token>}. A client is a proxy of this interface over a {@code RestClient} whose base URL is
 * the node's endpoint ({@code HttpServiceProxyFactory}); the node's controllers serve the same paths.
 * Errors are {@code application/problem+json} with a {@code code}: 4xx when the call is wrong for
 * the node's state, 5xx when the node failed, 502 when another node it read from did not answer.
 */
public interface NodeApi {

    /** Defines a batch of lcs; repeating a batch that already applied changes nothing. */
    @PostExchange("/v1/lcs:batchDefine")
    DefineResult define(@RequestBody BatchDefineRequest request);

    /** Every lc this node holds, without statistics. */
    @GetExchange("/v1/lcs")
    List<LcSummary> list();

    @GetExchange("/v1/lcs/{lcId}")
    LcView get(@PathVariable long lcId);

    /** Flushes the lc's unflushed writes, then freezes it. */
    @PostExchange("/v1/lcs/{lcId}:freeze")
    LcView freeze(@PathVariable long lcId);

    @PostExchange("/v1/lcs/{lcId}:grow")
    LcView grow(@PathVariable long lcId, @RequestBody GrowRequest request);

    /** Deleting an lc that is already gone succeeds. */
    @DeleteExchange("/v1/lcs/{lcId}")
    void delete(@PathVariable long lcId);

    /** The PCs of the lc that can hold anything but zeros (held by it or an ancestor on this node). */
    @GetExchange("/v1/lcs/{lcId}/allocation")
    AllocationView allocation(@PathVariable long lcId);

    /** Starts a flatten of the lc (202 with the job); an lc already being flattened answers its job. */
    @PostExchange("/v1/lcs/{lcId}:flatten")
    Job startFlatten(@PathVariable long lcId);

    @GetExchange("/v1/lcs/{lcId}/flatten")
    Job flatten(@PathVariable long lcId);

    /** Stops a running flatten at its next PC; answers the job, ended or ending. */
    @PostExchange("/v1/lcs/{lcId}/flatten:cancel")
    Job cancelFlatten(@PathVariable long lcId);

    /** {@code length} bytes of the lc from {@code offset}, zeros where nothing was written. */
    @GetExchange("/v1/lcs/{lcId}/data")
    byte[] read(@PathVariable long lcId, @RequestParam long offset, @RequestParam long length);

    /** Writes the bytes at {@code offset}; durable after a flush, as on any disk. */
    @PutExchange(url = "/v1/lcs/{lcId}/data", contentType = MediaType.APPLICATION_OCTET_STREAM_VALUE)
    void write(@PathVariable long lcId, @RequestParam long offset, @RequestBody byte[] bytes);

    /** Copies a range of an lc on another node into this lc, node to node; answers the bytes stored. */
    @PostExchange("/v1/lcs/{lcId}:copyFrom")
    CopyFromResult copyFrom(@PathVariable long lcId, @RequestBody CopyFromRequest request);

    /**
     * What the lc holds itself in PCs {@code firstPc}, {@code firstPc + pcStride}, … below {@code
     * firstPc + pcCount} (at most 1024 PCs; a stride of the column count lists one stripe column),
     * with the block CRCs of each segment held as data if {@code crcs}: a rebuild's inventory. A plan
     * needs only which segments are held, and the CRCs are most of a listing's bytes. With {@code
     * digest}, each data segment's CRCs are one value, the CRC32C of its 64 block CRCs (big-endian):
     * two listings with digests tell whether two copies are equal.
     */
    @GetExchange("/v1/lcs/{lcId}/segments")
    OwnedSegmentsView segments(
            @PathVariable long lcId,
            @RequestParam long firstPc,
            @RequestParam long pcCount,
            @RequestParam long pcStride,
            @RequestParam boolean crcs,
            @RequestParam boolean digest);

    /**
     * Fills the lc, in the request's PCs, with every segment the source lc on another node holds
     * that this lc does not hold yet (held segments are kept), throttled; answers the counts.
     */
    @PostExchange("/v1/lcs/{lcId}:fillFrom")
    FillFromResult fillFrom(@PathVariable long lcId, @RequestBody FillFromRequest request);

    /**
     * Replaces the request's segments of the lc with the source lc's own bytes on another node (a
     * replica scrub's repair of a copy that rotted or differs), each only if this lc still holds what
     * the comparison saw and the source still holds what it wanted; answers the counts. 409 {@code
     * REBUILDING} while the lc has a rebuild source (its rebuild or catch-up heals it).
     */
    @PostExchange("/v1/lcs/{lcId}:repair")
    RepairResult repair(@PathVariable long lcId, @RequestBody RepairRequest request);

    @PostExchange("/v1/lcs/{lcId}:flush")
    void flush(@PathVariable long lcId);

    @PostExchange("/v1/lcs/{lcId}:writeZeroes")
    void writeZeroes(@PathVariable long lcId, @RequestParam long offset, @RequestParam long length);

    @PostExchange("/v1/lcs/{lcId}:trim")
    void trim(@PathVariable long lcId, @RequestParam long offset, @RequestParam long length);

    /**
     * Makes {@code source} the lc's rebuild source (decision 012) until it is removed: from then on
     * a live write that covers only part of a segment the lc does not hold first fills that segment
     * from the source's resolved bytes, and a zero write marks such segments zero explicitly. Kept
     * in memory only: a node that restarts has none, and api-server sets them again.
     */
    @PutExchange("/v1/lcs/{lcId}/rebuildSource")
    RebuildSourceView setRebuildSource(@PathVariable long lcId, @RequestBody CopySource source);

    /**
     * As {@link #setRebuildSource}, with sources to try in order when one fails ({@code
     * alternates}), serving the PCs of the stripe columns {@code column} (of {@code columns}) only:
     * the columns the lc is rebuilt in. In the others the node is in sync, and a write there merges
     * with its own chain.
     */
    @PutExchange("/v1/lcs/{lcId}/rebuildSource")
    RebuildSourceView setRebuildSources(
            @PathVariable long lcId,
            @RequestBody RebuildSourceRequest sources,
            @RequestParam List<Integer> column,
            @RequestParam int columns);

    /**
     * Makes {@code source} the lc's rebuild source for a catch-up of column {@code catchUpColumn} of
     * {@code columns} (decision 012): as {@link #setRebuildSource}, and every segment the lc holds in
     * that column's PCs is suspect (pending) until {@link #markSuspects} names the ones that differ.
     * Starts afresh: a catch-up state the lc had is forgotten.
     */
    @PutExchange("/v1/lcs/{lcId}/rebuildSource")
    RebuildSourceView setCatchUpSource(
            @PathVariable long lcId,
            @RequestBody CopySource source,
            @RequestParam int catchUpColumn,
            @RequestParam int columns);

    /**
     * The segments of an lc being caught up that differ from its source: they stay suspect until a
     * live write or {@link #fillSuspects} replaces them; every other segment is trusted from now on
     * (pending ends). One a live write made right since is skipped. 409 {@code NOT_CATCHING_UP} for
     * an lc without a catch-up.
     */
    @PostExchange("/v1/lcs/{lcId}/rebuildSource/suspects")
    SuspectsMarked markSuspects(@PathVariable long lcId, @RequestBody SuspectSegments segments);

    /**
     * Replaces each suspect segment of an lc being caught up with its source's resolved bytes, at
     * most {@code bytesPerSecond} (absent: as fast as the nodes go); answers the segments replaced,
     * those skipped (a live write made them right meanwhile) and the bytes fetched. 502 when the
     * source did not deliver a segment.
     */
    @PostExchange("/v1/lcs/{lcId}/rebuildSource/suspects:fill")
    FillFromResult fillSuspects(@PathVariable long lcId, @RequestParam(required = false) Long bytesPerSecond);

    /** The lc's rebuild source; 404 {@code NO_REBUILD_SOURCE} when it has none. */
    @GetExchange("/v1/lcs/{lcId}/rebuildSource")
    RebuildSourceView rebuildSource(@PathVariable long lcId);

    /** Removes the lc's rebuild source (the lc is in sync); removing one it does not have succeeds. */
    @DeleteExchange("/v1/lcs/{lcId}/rebuildSource")
    void removeRebuildSource(@PathVariable long lcId);

    /** Removes the lc's rebuild source only if it is a catch-up of column {@code catchUpColumn}. */
    @DeleteExchange("/v1/lcs/{lcId}/rebuildSource")
    void removeCatchUpSource(@PathVariable long lcId, @RequestParam int catchUpColumn);

    /**
     * Raises the fence of a replica set this node is a member of, durably, before answering: from
     * then on the node refuses data tokens of that set issued at an older epoch. Asking for an epoch
     * at or below the current fence changes nothing and answers the fence as it is.
     */
    @PutExchange("/v1/fences/{familyId}/{column}")
    FenceView fence(@PathVariable long familyId, @PathVariable int column, @RequestBody FenceRequest request);

    /** Every fence this node holds. */
    @GetExchange("/v1/fences")
    List<FenceView> fences();

    @GetExchange("/v1/node")
    NodeView node();

    /** Flushes every lc of the node. */
    @PostExchange("/v1/node:flush")
    void flushAll();

    /** Starts a scrub of the whole node (202 with the job). */
    @PostExchange("/v1/node:scrub")
    Job startScrub();

    @GetExchange("/v1/node/scrub")
    Job scrub();
}
