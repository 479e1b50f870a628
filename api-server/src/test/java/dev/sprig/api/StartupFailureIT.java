package dev.sprig.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/** Start-up with bad configuration fails fast with one clear message instead of stack traces. */
@ExtendWith(OutputCaptureExtension.class)
class StartupFailureIT {

    @Test
    void unreachableExternalDatabaseFailsWithin30SecondsNamingTheUrl(CapturedOutput output) throws IOException {
        String url = "jdbc:postgresql://127.0.0.1:" + closedPort() + "/sprig";
        long started = System.nanoTime();

        assertThatThrownBy(() -> new SpringApplicationBuilder(SprigApiApplication.class)
                        .run(
                                "--server.port=0",
                                "--spring.datasource.url=" + url,
                                "--spring.datasource.username=sprig",
                                "--spring.datasource.password=sprig",
                                "--sprig.api.backend.embedded.data-dir=" + TestDataDirs.fresh("unreachable-engine")))
                .hasRootCauseInstanceOf(java.net.ConnectException.class);

        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(30));
        assertThat(output.getOut().lines().filter(line -> line.contains("Cannot reach the database at " + url)))
                .hasSize(1);
        assertThat(output.getAll()).doesNotContain("\tat ");
    }

    @Test
    void portAlreadyInUseGivesOneClearMessage(CapturedOutput output) throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("0.0.0.0"))) {
            int port = taken.getLocalPort();

            assertThatThrownBy(() -> new SpringApplicationBuilder(SprigApiApplication.class)
                    .run(
                            "--server.port=" + port,
                            "--sprig.api.database.embedded.data-dir=" + TestDataDirs.fresh("port-in-use"),
                            "--sprig.api.backend.embedded.data-dir=" + TestDataDirs.fresh("port-in-use-engine")));

            assertThat(output.getOut()).contains("Port " + port + " was already in use");
            assertThat(output.getAll()).doesNotContain("\tat ");
        }
    }

    private static int closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
