package dev.sprig.agent;

import static dev.sprig.agent.Tools.succeed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.agent.route.AttachedDisks;
import dev.sprig.agent.route.Attachments;
import dev.sprig.agent.route.NodeChannels;
import dev.sprig.nbd.server.NbdServer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A disk striped over three storage-node processes (api-server on the nodes backend): the agent
 * sends each PC's bytes to its own node and the NBD client sees one disk.
 */
class StripedDiskIT {

    static final int MIB = 1 << 20;
    /** Six PCs of 4 MiB: two on each node. */
    static final byte[] IMAGE = AgentServeIT.imageContent(24 * MIB);

    static StorageNodes nodes;
    static ApiServerProcess apiServer;
    static NodeChannels pool;
    static NbdServer agent;
    static SprigApi api;
    static String image;

    @BeforeAll
    static void start() throws Exception {
        Path dir = ApiServerProcess.fresh("agent-striped-nodes");
        nodes = new StorageNodes(3, dir);
        apiServer = ApiServerProcess.start("agent-striped", "--sprig.api.backend.type=nodes");
        nodes.registerWith(apiServer);
        pool = new NodeChannels();
        agent = NbdServer.start(
                new AttachedDisks(new Attachments(apiServer.uri(), ApiServerProcess.KEY), pool),
                "127.0.0.1",
                0,
                NbdServer.Settings.of(16, "agent-worker"));
        api = new SprigApi(apiServer.uri(), ApiServerProcess.KEY);
        image = api.image(IMAGE);
    }

    @AfterAll
    static void stop() throws Exception {
        if (agent != null) {
            agent.close();
        }
        if (pool != null) {
            pool.close();
        }
        if (apiServer != null) {
            apiServer.close();
        }
        if (nodes != null) {
            nodes.close();
        }
    }

    @Test
    void aCloneStripedOverThreeNodesReadsAsItsImage() throws Exception {
        String disk = api.clone(image);
        Path copy = apiServer.dir.resolve(disk + ".raw");

        succeed("qemu-img", "convert", "-f", "raw", "-O", "raw", AgentServeIT.nbdOn(agent, disk), copy.toString());

        assertThat(api.attachment(disk).nodes()).as("the disk's nodes").hasSize(3);
        assertThat(Files.readAllBytes(copy)).isEqualTo(IMAGE);
    }

    @Test
    void aWriteAcrossEveryNodeIsReadBackOnASecondConnection() throws Exception {
        String disk = api.clone(image);
        String uri = AgentServeIT.nbdOn(agent, disk);

        succeed("qemu-io", "-f", "raw", "-c", "write -P 0x7e 2M 20M", "-c", "flush", uri);

        succeed("qemu-io", "-f", "raw", "-c", "read -P 0x7e 2M 20M", uri);
        Path copy = apiServer.dir.resolve(disk + ".raw");
        succeed("qemu-img", "convert", "-f", "raw", "-O", "raw", uri, copy.toString());
        byte[] expected = IMAGE.clone();
        java.util.Arrays.fill(expected, 2 * MIB, 22 * MIB, (byte) 0x7e);
        assertThat(Files.readAllBytes(copy)).isEqualTo(expected);
    }
}
