package dev.sprig.client;

/**
 * {@code POST /v1/disks/{id}/attachment:dropMember}: a client-agent reports that member
 * {@code nodeId} of column {@code column} failed at epoch {@code epoch}; api-server marks it stale
 * and answers the new attachment.
 */
public record DropMember(int column, String nodeId, long epoch) {}
