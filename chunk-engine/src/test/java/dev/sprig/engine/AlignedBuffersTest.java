package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class AlignedBuffersTest {

    private static final int ALIGNMENT = 64 * 1024;

    @Test
    void aBufferThatStartsAlignedGivesExactlyTheSizeAskedFor() {
        // an allocation that happens to start on the alignment: the case alignedSlice alone got wrong
        ByteBuffer alreadyAligned = ByteBuffer.allocateDirect(Layout.SEGMENT_SIZE + 2 * ALIGNMENT)
                .alignedSlice(ALIGNMENT)
                .slice(0, Layout.SEGMENT_SIZE + ALIGNMENT);

        ByteBuffer segment = AlignedBuffers.exactly(alreadyAligned, Layout.SEGMENT_SIZE, ALIGNMENT);

        assertThat(segment.capacity()).isEqualTo(Layout.SEGMENT_SIZE);
        assertThat(segment.alignmentOffset(0, ALIGNMENT)).isZero();
    }

    @Test
    void everyAllocationIsExactlyItsSizeOnItsAlignment() {
        for (int i = 0; i < 64; i++) {
            ByteBuffer segment = AlignedBuffers.allocate(Layout.SEGMENT_SIZE, ALIGNMENT);
            assertThat(segment.capacity()).isEqualTo(Layout.SEGMENT_SIZE);
            assertThat(segment.isDirect()).isTrue();
            assertThat(segment.alignmentOffset(0, ALIGNMENT)).isZero();
        }
    }
}
