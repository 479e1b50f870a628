package dev.sprig.node.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.node.NodeTestDirs;
import dev.sprig.node.StorageNodeApplication;
import dev.sprig.nodeapi.BatchDefineRequest;
import dev.sprig.nodeapi.CopyFromRequest;
import dev.sprig.nodeapi.CopySource;
import dev.sprig.nodeapi.FenceRequest;
import dev.sprig.nodeapi.FenceView;
import dev.sprig.nodeapi.FillFromResult;
import dev.sprig.nodeapi.GrowRequest;
import dev.sprig.nodeapi.Job;
import dev.sprig.nodeapi.LcDefinition;
import dev.sprig.nodeapi.LcSummary;
import dev.sprig.nodeapi.LcView;
import dev.sprig.nodeapi.NodeApi;
import dev.sprig.nodeapi.PcRun;
import dev.sprig.nodeapi.RebuildSourceView;
import dev.sprig.nodeapi.SuspectSegments;
import dev.sprig.nodeapi.SuspectsMarked;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.HttpHeaders;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.client.HttpClientErrorException;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.support.RestClientAdapter;
import org.springframework.web.service.invoker.HttpServiceProxyFactory;

/**
 * The shared {@link NodeApi} interface against the node's controllers over real HTTP: every method
 * reaches its endpoint and reads its answer, so the interface and the controllers cannot drift
 * apart unnoticed. The wire itself (JSON as written by hand) is {@link NodeApiIT}'s.
 */
@SpringBootTest(
        classes = StorageNodeApplication.class,
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "spring.config.name=" + StorageNodeApplication.CONFIG_NAME,
            "sprig.node.nbd.port=0",
            "sprig.node.token=" + NodeApiContractIT.TOKEN
        })
class NodeApiContractIT {

    static final String TOKEN = "contract-token-0123456789";
    static final long MIB = 1 << 20;

    @DynamicPropertySource
    static void dataDir(DynamicPropertyRegistry registry) {
        registry.add(
                "sprig.node.data-dir",
                () -> NodeTestDirs.fresh("node-api-contract").toString());
    }

    @LocalServerPort
    int port;

    NodeApi node;

    @BeforeEach
    void client() {
        node = HttpServiceProxyFactory.builderFor(RestClientAdapter.create(RestClient.builder()
                        .baseUrl(endpoint())
                        .defaultHeader(HttpHeaders.AUTHORIZATION, "Bearer " + TOKEN)
                        .build()))
                .build()
                .createClient(NodeApi.class);
    }

    @Test
    void everyMethodReachesItsEndpoint() {
        var defined = node.define(new BatchDefineRequest(List.of(
                new LcDefinition(1L, null, 8 * MIB, null),
                new LcDefinition(2L, null, 8 * MIB, false),
                new LcDefinition(3L, null, 8 * MIB, false))));
        assertThat(defined.created()).isEqualTo(3);
        assertThat(node.list()).contains(new LcSummary(1, null, 8 * MIB, false));

        byte[] bytes = new byte[4096];
        Arrays.fill(bytes, (byte) 7);
        node.write(1, MIB, bytes);
        node.flush(1);
        assertThat(node.read(1, MIB, 4096)).isEqualTo(bytes);
        node.writeZeroes(1, MIB, 512);
        node.trim(1, MIB + 512, 512);
        assertThat(node.read(1, MIB, 1024)).containsOnly(0);
        node.flushAll();

        assertThat(node.allocation(1).pcRuns()).containsExactly(new PcRun(MIB / ChunkEngine.PC_SIZE, 1));
        LcView frozen = node.freeze(1);
        assertThat(frozen.frozen()).isTrue();
        assertThat(node.get(1).bytesStored()).isPositive();
        assertThat(node.grow(2, new GrowRequest(16 * MIB)).sizeBytes()).isEqualTo(16 * MIB);

        var copied = node.copyFrom(3, new CopyFromRequest(new CopySource(endpoint(), TOKEN, 1L), MIB, 4096L));
        assertThat(copied.bytesStored()).isPositive();
        assertThat(node.read(3, MIB + 1024, 16)).containsOnly(7);

        node.define(new BatchDefineRequest(List.of(new LcDefinition(4L, 1L, 8 * MIB, false))));
        assertThat(node.startFlatten(4).kind()).isEqualTo("flatten");
        Job flattened = await(() -> node.flatten(4));
        assertThat(flattened.state()).isEqualTo(Job.State.SUCCEEDED);
        assertThat(node.cancelFlatten(4).state()).isEqualTo(Job.State.SUCCEEDED);

        assertThat(node.startScrub().kind()).isEqualTo("scrub");
        Job scrub = await(node::scrub);
        assertThat(scrub.state()).isEqualTo(Job.State.SUCCEEDED);
        assertThat(scrub.damaged()).isEmpty();
        assertThat(node.node().lcCount()).isEqualTo(4);

        assertThat(node.fence(9, 2, new FenceRequest(5L))).isEqualTo(new FenceView(9, 2, 5));
        assertThat(node.fence(9, 2, new FenceRequest(4L))).isEqualTo(new FenceView(9, 2, 5));
        assertThat(node.fences()).containsExactly(new FenceView(9, 2, 5));

        assertThat(node.setRebuildSource(2, new CopySource(endpoint(), TOKEN, 2L)))
                .isEqualTo(new RebuildSourceView(2, endpoint(), 2, null, false, 0, 0));
        assertThat(node.rebuildSource(2)).isEqualTo(new RebuildSourceView(2, endpoint(), 2, null, false, 0, 0));
        assertThat(node.setCatchUpSource(2, new CopySource(endpoint(), TOKEN, 2L), 0, 1))
                .isEqualTo(new RebuildSourceView(2, endpoint(), 2, 0, true, 0, 0));
        assertThat(node.markSuspects(2, new SuspectSegments(List.of(0L, 0L)))).isEqualTo(new SuspectsMarked(1, 0, 1));
        FillFromResult replaced = node.fillSuspects(2, null);
        assertThat(replaced.segmentsFilled()).isEqualTo(1);
        assertThat(node.rebuildSource(2)).isEqualTo(new RebuildSourceView(2, endpoint(), 2, 0, false, 0, 1));
        node.removeRebuildSource(2);
        node.removeRebuildSource(2);
        assertThatThrownBy(() -> node.rebuildSource(2))
                .isInstanceOfSatisfying(
                        HttpClientErrorException.class,
                        missing -> assertThat(missing.getStatusCode().value()).isEqualTo(404));

        node.delete(4);
        node.delete(4);
        assertThatThrownBy(() -> node.get(4))
                .isInstanceOfSatisfying(
                        HttpClientErrorException.class,
                        missing -> assertThat(missing.getStatusCode().value()).isEqualTo(404));
    }

    private String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    private static Job await(Supplier<Job> job) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        Job now = job.get();
        while (now.state() == Job.State.RUNNING && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
            now = job.get();
        }
        return now;
    }
}
