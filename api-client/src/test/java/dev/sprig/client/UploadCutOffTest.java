package dev.sprig.client;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An upload that api-server refuses half-way loses its answer with the connection; the client then
 * says why from the image's own record, not the transport's last words.
 */
class UploadCutOffTest {

    static final int SIZE = 4 << 20;

    @TempDir
    Path dir;

    HttpServer server;
    String imageState = "error";

    @BeforeEach
    void apiServerThatBreaksOffUploads() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/v1/images/img-1/file", exchange -> {
            exchange.getRequestBody().readNBytes(64 * 1024);
            exchange.close(); // no answer: the connection goes with the rest of the body unread
        });
        server.createContext("/v1/images/img-1", this::image);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void image(HttpExchange exchange) throws IOException {
        Instant now = Instant.now();
        byte[] body = Wire.write(new ImageView(
                        "img-1",
                        "base",
                        (long) SIZE,
                        imageState,
                        65_536,
                        null,
                        imageState.equals("error") ? "storage node node2 did not answer: writing PC 0" : null,
                        null,
                        null,
                        false,
                        false,
                        0,
                        0,
                        null,
                        now,
                        now,
                        java.util.Map.of()))
                .getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
        exchange.close();
    }

    private SprigApiClient client() {
        return new SprigApiClient(
                URI.create("http://127.0.0.1:" + server.getAddress().getPort()),
                "key",
                new SprigApiClient.Timeouts(Duration.ofSeconds(5), Duration.ofSeconds(10)));
    }

    @Test
    void aRefusedUploadSaysWhyApiServerRefusedIt() throws IOException {
        Path file = Files.write(dir.resolve("base.raw"), new byte[SIZE]);

        assertThatThrownBy(() -> client().upload("img-1", file, sent -> {}))
                .isInstanceOf(IOException.class)
                .hasMessage("api-server refused the upload of img-1 after 65536 of " + SIZE
                        + " bytes: storage node node2 did not answer: writing PC 0");
    }

    @Test
    void anUploadThatBrokeOffForNoRecordedReasonSaysSoWithTheBreak() throws IOException {
        imageState = "queued";
        Path file = Files.write(dir.resolve("base.raw"), new byte[SIZE]);

        assertThatThrownBy(() -> client().upload("img-1", file, sent -> {}))
                .isInstanceOf(IOException.class)
                .hasMessageStartingWith("the upload of img-1 broke off (")
                .hasMessageEndingWith("); api-server has the image queued after 65536 of " + SIZE + " bytes");
    }
}
