package dev.sprig.nodeapi;

import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.util.List;

/**
 * What an lc holds itself for one segment, as a listing shows it: {@code state} is {@code DATA}
 * (with its 64 block CRC32Cs, as signed 32-bit integers, block 0 first), {@code ZERO} or {@code
 * UNOWNED} (both with {@code crcs} empty).
 */
public record SegmentContent(
        @NotNull @Pattern(regexp = "DATA|ZERO|UNOWNED") String state,
        @NotNull List<@NotNull Integer> crcs) {

    public SegmentContent {
        crcs = List.copyOf(crcs);
    }
}
