package dev.sprig.api.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Which addresses a source may reach by default, and what an operator's list opens. */
class NonPublicAddressesTest {

    @ParameterizedTest
    @ValueSource(
            strings = {
                "127.0.0.1",
                "127.3.4.5",
                "0.0.0.0",
                "0.1.2.3",
                "10.1.2.3",
                "172.16.0.1",
                "172.31.255.255",
                "192.168.1.1",
                "169.254.169.254",
                "100.64.0.1",
                "100.127.255.255",
                "224.0.0.1",
                "255.255.255.255",
                "198.18.0.1",
                "::",
                "::1",
                "fe80::1",
                "fc00::1",
                "fd12:3456::1",
                "ff02::1",
                "::ffff:127.0.0.1",
                "::ffff:169.254.169.254",
                "::10.0.0.1",
                "64:ff9b::a00:1",
                "2002:a9fe:a9fe::1"
            })
    void nonPublicAddressesAreRefusedByDefault(String address) throws UnknownHostException {
        NonPublicAddresses rules = new NonPublicAddresses(List.of());

        assertThat(rules.allowed("some.host", InetAddress.getByName(address))).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"8.8.8.8", "100.63.255.255", "100.128.0.0", "172.32.0.1", "2001:4860:4860::8888"})
    void publicAddressesAreAllowed(String address) throws UnknownHostException {
        NonPublicAddresses rules = new NonPublicAddresses(List.of());

        assertThat(rules.allowed("some.host", InetAddress.getByName(address))).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"10.20.0.0/16", "10.20.30.40", "images.internal", "IMAGES.internal"})
    void anOperatorsEntryAllowsItsHostOrBlock(String entry) throws UnknownHostException {
        NonPublicAddresses rules = new NonPublicAddresses(List.of(entry));

        assertThat(rules.allowed("images.internal", InetAddress.getByName("10.20.30.40")))
                .isTrue();
        assertThat(rules.allowed("other.internal", InetAddress.getByName("10.21.0.1")))
                .isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"fd00::/8"})
    void anIpv6BlockAllowsItsAddressesOnly(String entry) throws UnknownHostException {
        NonPublicAddresses rules = new NonPublicAddresses(List.of(entry));

        assertThat(rules.allowed("x", InetAddress.getByName("fd12::1"))).isTrue();
        assertThat(rules.allowed("x", InetAddress.getByName("fc12::1"))).isFalse();
        assertThat(rules.allowed("x", InetAddress.getByName("::1"))).isFalse();
    }
}
