package dev.sprig.nodeapi;

public record PcRun(long firstPc, long pcCount) {}
