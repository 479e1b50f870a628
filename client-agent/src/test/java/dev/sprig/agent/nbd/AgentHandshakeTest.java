package dev.sprig.agent.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.agent.RawNbdClient;
import dev.sprig.nbd.Nbd;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The handshake against disks that are known, unknown, or cannot be looked up (api-server down). */
class AgentHandshakeTest {

    AgentNbdServer server;

    @BeforeEach
    void start() throws Exception {
        server = AgentNbdServer.start(
                name -> switch (name) {
                    case "disk-1" -> new MemoryDisk(1 << 20);
                    case "disk-unreachable" -> throw new IOException("api-server is down");
                    default -> null;
                },
                "127.0.0.1",
                0,
                2);
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    @Test
    void infoThenGoOnOneConnectionOpensTheDisk() throws Exception {
        try (RawNbdClient client = RawNbdClient.connect("127.0.0.1", server.port())) {
            assertThat(client.option(Nbd.OPT_INFO, "disk-1")).isEqualTo(Nbd.REP_ACK);
            assertThat(client.size()).isEqualTo(1 << 20);

            assertThat(client.option(Nbd.OPT_GO, "disk-1")).isEqualTo(Nbd.REP_ACK);
            assertThat(client.read(0, 512).error()).isZero();
        }
    }

    @Test
    void anUnknownDiskIsRefusedAndTheClientMayTryAnother() throws Exception {
        try (RawNbdClient client = RawNbdClient.connect("127.0.0.1", server.port())) {
            assertThat(client.option(Nbd.OPT_GO, "disk-2")).isEqualTo(Nbd.REP_ERR_UNKNOWN);

            assertThat(client.option(Nbd.OPT_GO, "disk-1")).isEqualTo(Nbd.REP_ACK);
        }
    }

    @Test
    void aDiskThatCannotBeLookedUpIsRefusedAsShutdownNotUnknown() throws Exception {
        try (RawNbdClient client = RawNbdClient.connect("127.0.0.1", server.port())) {
            assertThat(client.option(Nbd.OPT_GO, "disk-unreachable")).isEqualTo(Nbd.REP_ERR_SHUTDOWN);
        }
    }

    @Test
    void listingAnswersAnEmptyList() throws Exception {
        try (RawNbdClient client = RawNbdClient.connect("127.0.0.1", server.port())) {
            assertThat(client.rawOption(Nbd.OPT_LIST, new byte[0])).isEqualTo(Nbd.REP_ACK);
        }
    }

    @Test
    void aListWithDataIsInvalid() throws Exception {
        try (RawNbdClient client = RawNbdClient.connect("127.0.0.1", server.port())) {
            assertThat(client.rawOption(Nbd.OPT_LIST, new byte[] {1})).isEqualTo(Nbd.REP_ERR_INVALID);
        }
    }

    @Test
    void anUnknownOptionIsUnsupportedAndTheHandshakeGoesOn() throws Exception {
        try (RawNbdClient client = RawNbdClient.connect("127.0.0.1", server.port())) {
            assertThat(client.option(8, "")).as("NBD_OPT_STRUCTURED_REPLY").isEqualTo(Nbd.REP_ERR_UNSUP);

            assertThat(client.option(Nbd.OPT_GO, "disk-1")).isEqualTo(Nbd.REP_ACK);
        }
    }

    @Test
    void garbageInPlaceOfAnOptionEndsThatConnectionOnly() throws Exception {
        try (RawNbdClient bad = RawNbdClient.connect("127.0.0.1", server.port())) {
            bad.send("GET / HTTP/1.1\r\nHost: agent\r\n\r\n".getBytes(StandardCharsets.US_ASCII));

            assertThat(bad.closedByServer()).isTrue();
        }
        try (RawNbdClient good = RawNbdClient.open("127.0.0.1", server.port(), "disk-1")) {
            assertThat(good.size()).isEqualTo(1 << 20);
        }
    }
}
