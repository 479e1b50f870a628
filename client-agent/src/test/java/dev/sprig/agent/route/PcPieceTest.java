package dev.sprig.agent.route;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class PcPieceTest {

    static final long PC = 4L << 20;

    @Test
    void aRequestInsideOnePcIsOnePiece() {
        assertThat(PcPiece.of(PC + 512, 4096, PC)).containsExactly(new PcPiece(1, PC + 512, 4096, 0));
    }

    @Test
    void aRequestAcrossABoundaryIsCutThere() {
        assertThat(PcPiece.of(PC - 1024, 4096, PC))
                .containsExactly(new PcPiece(0, PC - 1024, 1024, 0), new PcPiece(1, PC, 3072, 1024));
    }

    @Property
    void piecesCoverTheRequestExactlyInOrderAndNeverCrossAPc(
            @ForAll @LongRange(max = 1L << 40) long offset,
            @ForAll @LongRange(min = 1, max = 64L << 20) long length,
            @ForAll @LongRange(min = 4096, max = 8L << 20) long pcSize) {
        List<PcPiece> pieces = PcPiece.of(offset, length, pcSize);

        long next = offset;
        for (PcPiece piece : pieces) {
            assertThat(piece.offset()).isEqualTo(next);
            assertThat(piece.done()).isEqualTo(next - offset);
            assertThat(piece.pcIndex()).isEqualTo(piece.offset() / pcSize);
            assertThat((piece.offset() + piece.length() - 1) / pcSize).isEqualTo(piece.pcIndex());
            next += piece.length();
        }
        assertThat(next).isEqualTo(offset + length);
    }
}
