package dev.sprig.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The SIZE of {@code sprig-agent disks resize}. */
class ResizeSizeTest {

    @Test
    void aPlainNumberIsBytes() {
        assertThat(DisksCommand.Resize.bytes("10485760")).isEqualTo(10L << 20);
    }

    @Test
    void suffixesArePowersOf1024InEitherCase() {
        assertThat(DisksCommand.Resize.bytes("512K")).isEqualTo(512L << 10);
        assertThat(DisksCommand.Resize.bytes("20g")).isEqualTo(20L << 30);
        assertThat(DisksCommand.Resize.bytes("64T")).isEqualTo(64L << 40);
        assertThat(DisksCommand.Resize.bytes("3M")).isEqualTo(3L << 20);
    }

    @Test
    void anythingElseIsRefusedNamingTheForm() {
        for (String size : new String[] {"", "G", "-1G", "0", "1.5G", "20GB", "9999999999T"}) {
            assertThatThrownBy(() -> DisksCommand.Resize.bytes(size))
                    .as(size)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("SIZE must be");
        }
    }
}
