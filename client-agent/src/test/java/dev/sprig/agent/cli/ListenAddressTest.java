package dev.sprig.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ListenAddressTest {

    @Test
    void hostAndPortAreSplitAtTheLastColon() {
        assertThat(ListenAddress.parse("127.0.0.1:10810")).isEqualTo(new ListenAddress("127.0.0.1", 10810));
    }

    @Test
    void anIpv6HostIsWrittenInBrackets() {
        assertThat(ListenAddress.parse("[::1]:10810")).isEqualTo(new ListenAddress("::1", 10810));
    }

    @Test
    void anAddressWithoutPortIsRefused() {
        assertThatThrownBy(() -> ListenAddress.parse("127.0.0.1")).isInstanceOf(IllegalArgumentException.class);
    }
}
