package dev.sprig.client;

import java.util.List;

/** A batch clone's answer when its source was ready (201): every disk, in name order. */
public record BatchCreated(List<DiskView> disks) {}
