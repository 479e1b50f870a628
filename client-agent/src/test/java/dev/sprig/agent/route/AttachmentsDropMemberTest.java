package dev.sprig.agent.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.sprig.client.DropMember;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code POST /v1/disks/{id}/attachment:dropMember} as the agent calls it, against a stand-in api-server. */
class AttachmentsDropMemberTest {

    HttpServer api;
    final AtomicReference<String> request = new AtomicReference<>();
    volatile int status;
    volatile String body;

    @BeforeEach
    void start() throws IOException {
        api = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        api.createContext("/v1/disks/", exchange -> {
            request.set(
                    exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath() + " "
                            + exchange.getRequestHeaders().getFirst("Authorization") + " "
                            + exchange.getRequestHeaders().getFirst("Content-Type") + " "
                            + new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        api.start();
    }

    @AfterEach
    void stop() {
        api.stop(0);
    }

    Attachments attachments() {
        return new Attachments(URI.create("http://127.0.0.1:" + api.getAddress().getPort()), "the-key");
    }

    @Test
    void aDropPostsColumnNodeAndEpochAndAnswersTheNewAttachment() throws Exception {
        status = 200;
        body = AttachmentTest.REPLICATED;

        Attachment answer = attachments().dropMember("disk-1", new DropMember(1, "b", 2));

        assertThat(request.get())
                .isEqualTo("POST /v1/disks/disk-1/attachment:dropMember Bearer the-key application/json"
                        + " {\"column\":1,\"nodeId\":\"b\",\"epoch\":2}");
        assertThat(answer.columns().get(1).epoch()).isEqualTo(3);
        assertThat(answer.columns().get(1).stale()).containsExactly("b");
    }

    @Test
    void insufficientReplicasIsItsOwnException() {
        status = 503;
        body = "{\"title\":\"Service Unavailable\",\"status\":503,\"code\":\"INSUFFICIENT_REPLICAS\","
                + "\"detail\":\"column 1 would keep 1\"}";

        assertThatThrownBy(() -> attachments().dropMember("disk-1", new DropMember(1, "b", 2)))
                .isInstanceOf(InsufficientReplicasException.class)
                .hasMessage("column 1 would keep 1");
    }

    @Test
    void anotherUnavailabilityIsAnIoFailure() {
        status = 503;
        body = "{\"title\":\"Service Unavailable\",\"status\":503,\"code\":\"DATABASE_UNAVAILABLE\"}";

        assertThatThrownBy(() -> attachments().dropMember("disk-1", new DropMember(1, "b", 2)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("503");
    }

    @Test
    void anUnknownDiskIsUnknown() {
        status = 404;
        body = "{\"title\":\"Not Found\",\"status\":404,\"code\":\"NOT_FOUND\"}";

        assertThatThrownBy(() -> attachments().dropMember("disk-9", new DropMember(0, "a", 1)))
                .isInstanceOf(UnknownDiskException.class);
    }
}
