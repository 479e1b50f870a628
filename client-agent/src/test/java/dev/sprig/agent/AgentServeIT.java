package dev.sprig.agent;

import static dev.sprig.agent.Tools.run;
import static dev.sprig.agent.Tools.succeed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.agent.route.AttachedDisks;
import dev.sprig.agent.route.Attachments;
import dev.sprig.agent.route.NodeChannels;
import dev.sprig.nbd.server.ClientsView;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.nbd.server.RawNbdClient;
import dev.sprig.nbd.server.ServerBuffers;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code sprig-agent serve} against a real api-server (its embedded storage node, 4 MiB PCs), driven
 * by the NBD clients people use: every export is a disk named by its extern_id.
 */
class AgentServeIT {

    static final int MIB = 1 << 20;
    /** Three PCs, so that requests cross PC boundaries. */
    static final byte[] IMAGE = imageContent(12 * MIB);

    static ApiServerProcess apiServer;
    static AttachedDisks disks;
    static NodeChannels pool;
    static NbdServer agent;
    static SprigApi api;
    static String image;

    @BeforeAll
    static void start() throws Exception {
        apiServer = ApiServerProcess.start("agent-serve");
        pool = new NodeChannels();
        disks = new AttachedDisks(new Attachments(apiServer.uri(), ApiServerProcess.KEY), pool);
        agent = NbdServer.start(disks, "127.0.0.1", 0, NbdServer.Settings.of(16, "agent-worker"));
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
    }

    @Test
    void nbdinfoShowsTheDiskSize() throws Exception {
        String disk = api.clone(image);

        String size = succeed("nbdinfo", "--size", nbd(disk));

        assertThat(size.strip()).isEqualTo(String.valueOf(IMAGE.length));
    }

    @Test
    void nbdinfoListsTheCallersDisks() throws Exception {
        String disk = api.clone(image);

        String list = succeed("nbdinfo", "--list", "nbd://127.0.0.1:" + agent.port());

        assertThat(list).contains(disk);
    }

    @Test
    void aFreshCloneReadsAsItsImageToEveryClientAndIsMappedAsData() {
        String disk = api.clone(image);

        List<String> map = ClientsView.check(nbd(disk), IMAGE, scratch(disk));

        assertThat(map).as("what it shares with its image reads as data").containsExactly("0+12582912 data");
    }

    @Test
    void aWrittenCloneIsMappedAsDataWhereItReadsDataAndZeroWhereItReadsZeros() throws Exception {
        // data, then 4 MiB of zeros (never stored), then data again
        byte[] content = imageContent(12 * MIB);
        Arrays.fill(content, 4 * MIB, 8 * MIB, (byte) 0);
        String disk = api.clone(api.image(content));
        succeed("qemu-io", "-f", "raw", "-c", "write -P 0x11 1M 1M", "-c", "write -P 0x22 5M 256K", nbd(disk));
        Arrays.fill(content, MIB, 2 * MIB, (byte) 0x11);
        Arrays.fill(content, 5 * MIB, 5 * MIB + 256 * 1024, (byte) 0x22);

        List<String> map = ClientsView.check(nbd(disk), content, scratch(disk));

        assertThat(map)
                .containsExactly(
                        "0+4194304 data",
                        "4194304+1048576 zero",
                        "5242880+262144 data",
                        "5505024+2883584 zero",
                        "8388608+4194304 data");
    }

    @Test
    void aTrimmedCloneIsMappedAsZeroWhereTrimmedAcrossPcs() throws Exception {
        String disk = api.clone(image);
        // the zeroed range straddles the boundary between PC 0 and PC 1
        succeed("qemu-io", "-f", "raw", "-c", "discard 1M 1M", "-c", "write -z 3584K 1M", nbd(disk));
        byte[] expected = IMAGE.clone();
        Arrays.fill(expected, MIB, 2 * MIB, (byte) 0);
        Arrays.fill(expected, 3584 * 1024, 4608 * 1024, (byte) 0);

        List<String> map = ClientsView.check(nbd(disk), expected, scratch(disk));

        assertThat(map)
                .containsExactly(
                        "0+1048576 data",
                        "1048576+1048576 zero",
                        "2097152+1572864 data",
                        "3670016+1048576 zero",
                        "4718592+7864320 data");
    }

    private static Path scratch(String disk) {
        return apiServer.dir.resolve("clients-view-" + disk);
    }

    @Test
    void aFreshCloneCopiedWithQemuImgEqualsItsImageByteForByte() throws Exception {
        String disk = api.clone(image);
        Path copy = apiServer.dir.resolve(disk + ".raw");

        succeed("qemu-img", "convert", "-f", "raw", "-O", "raw", nbd(disk), copy.toString());

        assertThat(Files.readAllBytes(copy)).isEqualTo(IMAGE);
    }

    @Test
    void aPatternWrittenOnOneConnectionIsReadBackOnAnother() throws Exception {
        String disk = api.clone(image);
        // 1 MiB straddling the boundary between PC 0 and PC 1
        String range = (4 * MIB - MIB / 2) + " 1M";

        succeed("qemu-io", "-f", "raw", "-c", "write -P 0x5a " + range, "-c", "flush", nbd(disk));

        String read = succeed("qemu-io", "-f", "raw", "-c", "read -P 0x5a " + range, nbd(disk));
        assertThat(read).contains("read 1048576/1048576 bytes");
    }

    @Test
    void writesToACloneChangeNeitherItsImageNorASiblingClone() throws Exception {
        String written = api.clone(image);
        String sibling = api.clone(image);

        succeed("qemu-io", "-f", "raw", "-c", "write -P 0xa5 0 12M", "-c", "flush", nbd(written));

        assertThat(copyOf(sibling)).isEqualTo(IMAGE);
        assertThat(copyOf(api.clone(image)))
                .as("a clone made afterwards reads the image")
                .isEqualTo(IMAGE);
    }

    @Test
    void trimAndWriteZeroesReadBackAsZeroes() throws Exception {
        String disk = api.clone(image);

        succeed(
                "qemu-io",
                "-f",
                "raw",
                "-c",
                "write -z 0 6M",
                "-c",
                "discard 6M 6M",
                "-c",
                "flush",
                "-c",
                "read -P 0 0 12M",
                nbd(disk));
    }

    @Test
    void fuaWritesAreReadBack() throws Exception {
        String disk = api.clone(image);

        succeed("qemu-io", "-f", "raw", "-c", "write -f -P 0x33 8M 2M", nbd(disk));

        succeed("qemu-io", "-f", "raw", "-c", "read -P 0x33 8M 2M", nbd(disk));
    }

    @Test
    void aUnixSocketServesTheSameDisks() throws Exception {
        String disk = api.clone(image);
        Path socket = apiServer.dir.resolve("agent.sock");
        try (NbdServer unix =
                NbdServer.start(disks, UnixDomainSocketAddress.of(socket), NbdServer.Settings.of(4, "unix-worker"))) {

            String size = succeed("nbdinfo", "--size", "nbd+unix:///" + disk + "?socket=" + socket);

            assertThat(size.strip()).isEqualTo(String.valueOf(IMAGE.length));
        }
        assertThat(socket).as("removed when the server stops").doesNotExist();
    }

    @Test
    void anUnknownExportIsRefusedAndTheAgentServesTheNextClient() throws Exception {
        Tools.Result unknown = run("nbdinfo", "--size", nbd("disk-that-does-not-exist"));

        assertThat(unknown.exitCode()).isNotZero();
        assertThat(unknown.output()).contains("no export named");
        assertThat(succeed("nbdinfo", "--size", nbd(api.clone(image))).strip()).isEqualTo(String.valueOf(IMAGE.length));
    }

    @Test
    void readsPastTheEndAreRefusedWithoutEndingTheConnection() throws Exception {
        String disk = api.clone(image);
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {
            assertThat(client.size()).isEqualTo(IMAGE.length);

            assertThat(client.read(IMAGE.length - 4096, 8192).error()).isEqualTo(22); // EINVAL
            assertThat(client.write(IMAGE.length, new byte[4096])).isEqualTo(28); // ENOSPC
            assertThat(client.read(0, 4096).data()).isEqualTo(java.util.Arrays.copyOf(IMAGE, 4096));
        }
    }

    @Test
    void readsLargerThanTheLimitAreRefusedWithEoverflow() throws Exception {
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), api.clone(image))) {
            assertThat(client.read(0, 33 * MIB).error()).isEqualTo(75); // EOVERFLOW
            assertThat(client.read(0, 4096).error()).isZero();
        }
    }

    @Test
    void writesLargerThanTheLimitAreRefusedWithEoverflowAndNothingIsWritten() throws Exception {
        String disk = api.clone(image);
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {
            assertThat(client.write(0, filled(33 * MIB, (byte) 0x66))).isEqualTo(75); // EOVERFLOW

            assertThat(client.read(0, 4096).data())
                    .as("the refused payload was skipped, not taken for requests")
                    .isEqualTo(java.util.Arrays.copyOf(IMAGE, 4096));
        }
    }

    @Test
    void aMalformedHandshakeEndsThatConnectionOnlyAndNothingIsWritten() throws Exception {
        String disk = api.clone(image);
        try (RawNbdClient client = RawNbdClient.connect("127.0.0.1", agent.port())) {
            client.send("this is not an NBD option header".getBytes(java.nio.charset.StandardCharsets.US_ASCII));

            assertThat(client.closedByServer()).isTrue();
        }
        assertThat(copyOf(disk)).isEqualTo(IMAGE);
    }

    @Test
    void aWriteAfterASnapshotGoesToTheDisksNewLcInvisiblyToTheClient() throws Exception {
        String disk = api.clone(image);
        byte[] before = filled(4096, (byte) 0x11);
        byte[] after = filled(4096, (byte) 0x22);
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {
            assertThat(client.write(0, before)).isZero();
            String snapshot = api.snapshot(disk);

            assertThat(client.write(0, after))
                    .as("the node refuses the frozen lc; the agent retries")
                    .isZero();

            assertThat(client.read(0, 4096).data()).isEqualTo(after);
            try (RawNbdClient ofSnapshot = RawNbdClient.open("127.0.0.1", agent.port(), api.clone(snapshot))) {
                assertThat(ofSnapshot.read(0, 4096).data()).isEqualTo(before);
            }
        }
    }

    @Test
    void aClientThatReadsNoRepliesIsHeldToABoundedBufferWhileOthersAreServed() throws Exception {
        String disk = api.clone(image);
        int reads = 512; // 512 MiB of replies asked for
        var offsetOfCookie = new java.util.HashMap<Long, Long>();
        try (RawNbdClient stalled = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {
            for (int i = 0; i < reads; i++) {
                long offset = (long) (i % 11) * MIB + (i % 5) * 4096;
                offsetOfCookie.put(stalled.sendRead(offset, MIB), offset);
            }

            assertThat(ServerBuffers.mostHeldUntilSettled(agent))
                    .as("what the agent holds for the client that reads nothing")
                    .isLessThanOrEqualTo(NbdServer.HIGH_WATER_MARK + 64L * MIB + 4L * MIB);
            try (RawNbdClient other = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {
                assertThat(other.read(5 * MIB, MIB).data()).isEqualTo(Arrays.copyOfRange(IMAGE, 5 * MIB, 6 * MIB));
            }
            for (int i = 0; i < reads; i++) {
                RawNbdClient.Answered reply = stalled.nextReadReply(MIB);
                int offset = (int) (long) offsetOfCookie.remove(reply.cookie());
                assertThat(reply.data())
                        .as("the reply to a read at %d", offset)
                        .isEqualTo(Arrays.copyOfRange(IMAGE, offset, offset + MIB));
            }
        }
    }

    @Test
    void fioWithCrc32cVerificationPasses() throws Exception {
        String disk = api.clone(image);

        succeed(
                "fio",
                "--name=verify",
                "--ioengine=nbd",
                "--uri=" + nbd(disk),
                "--rw=randwrite",
                "--bs=64k",
                "--size=12M",
                "--iodepth=16",
                "--verify=crc32c",
                "--do_verify=1");
    }

    @Test
    void aDiskGrownWhileAttachedKeepsItsBytesAndAClientThatConnectsAgainSeesTheNewSize() throws Exception {
        String disk = api.clone(image);
        String[] writes = {
            "fio",
            "--name=before-resize",
            "--ioengine=nbd",
            "--uri=" + nbd(disk),
            "--rw=randwrite",
            "--bs=64k",
            "--size=12M",
            "--iodepth=16",
            "--verify=crc32c",
            "--do_verify=1"
        };
        succeed(writes);
        try (RawNbdClient attached = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {

            assertThat(api.resize(disk, 20L * MIB)).isEqualTo(20L * MIB);

            // the connection made before keeps its size, and serves as before
            assertThat(attached.size()).isEqualTo(IMAGE.length);
            byte[] before = attached.read(0, 64 << 10).data();
            assertThat(attached.write(0, before)).isZero();
            assertThat(attached.read(12L * MIB - 4096, 4096).error()).isZero();
        }
        assertThat(succeed("nbdinfo", "--size", nbd(disk)).strip()).isEqualTo(String.valueOf(20L * MIB));
        // what fio wrote before the resize reads back, and the new space reads as zeros
        String[] verifyOnly = Arrays.copyOf(writes, writes.length + 1);
        verifyOnly[writes.length] = "--verify_only";
        succeed(verifyOnly);
        byte[] grown = copyOf(disk);
        assertThat(grown).hasSize(20 * MIB);
        assertThat(Arrays.copyOfRange(grown, 12 * MIB, 20 * MIB)).isEqualTo(new byte[8 * MIB]);
        succeed(
                "fio",
                "--name=after-resize",
                "--ioengine=nbd",
                "--uri=" + nbd(disk),
                "--rw=randwrite",
                "--bs=64k",
                "--size=20M",
                "--iodepth=16",
                "--verify=crc32c",
                "--do_verify=1");
    }

    @Test
    void aDiskIsRevertedOnlyOnceItsClientsHaveGoneAndThenReadsAsItsSnapshot() throws Exception {
        String disk = api.clone(image);
        String[] beforeSnapshot = fioJob("before-snapshot", disk, 1);
        succeed(beforeSnapshot);
        String snapshot = api.snapshot(disk);
        succeed(fioJob("after-snapshot", disk, 2));

        try (RawNbdClient attached = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {
            assertThat(attached.write(0, filled(4096, (byte) 0x33))).isZero();

            var refused = org.assertj.core.api.Assertions.catchThrowableOfType(
                    dev.sprig.client.ApiException.class, () -> api.revert(disk, snapshot));

            assertThat(refused.status()).isEqualTo(409);
            assertThat(refused.problem().detail()).contains("attached for writing by 'sprig-agent@");
            assertThat(attached.read(0, 4096).data()).isEqualTo(filled(4096, (byte) 0x33));
        }
        api.revertOnceDetached(disk, snapshot);

        // what fio wrote before the snapshot reads back, every block of it; after it, nothing does
        String[] verifyOnly = Arrays.copyOf(beforeSnapshot, beforeSnapshot.length + 1);
        verifyOnly[beforeSnapshot.length] = "--verify_only";
        succeed(verifyOnly);
        // and the disk takes writes again
        succeed(fioJob("after-revert", disk, 3));
    }

    /** A 12 MiB crc32c-verified random write of the whole disk, its data drawn from {@code seed}. */
    private static String[] fioJob(String name, String disk, int seed) {
        return new String[] {
            "fio",
            "--name=" + name,
            "--ioengine=nbd",
            "--uri=" + nbd(disk),
            "--rw=randwrite",
            "--bs=64k",
            "--size=12M",
            "--iodepth=16",
            "--randseed=" + seed,
            "--verify=crc32c",
            "--do_verify=1"
        };
    }

    private Path copyOfPath(String disk) {
        return apiServer.dir.resolve(disk + ".raw");
    }

    private byte[] copyOf(String disk) throws Exception {
        Path copy = copyOfPath(disk);
        succeed("qemu-img", "convert", "-f", "raw", "-O", "raw", nbd(disk), copy.toString());
        return Files.readAllBytes(copy);
    }

    static byte[] filled(int length, byte value) {
        byte[] bytes = new byte[length];
        java.util.Arrays.fill(bytes, value);
        return bytes;
    }

    static String nbd(String disk) {
        return nbdOn(agent, disk);
    }

    static String nbdOn(NbdServer server, String disk) {
        return "nbd://127.0.0.1:" + server.port() + "/" + disk;
    }

    /** Each 4 KiB block starts with its own number, so a misplaced block cannot pass for another. */
    static byte[] imageContent(int size) {
        ByteBuffer content = ByteBuffer.allocate(size);
        for (int block = 0; block < size / 4096; block++) {
            content.putLong(block * 4096, 0x5350524947L << 24 | block);
            content.put(block * 4096 + 8, (byte) (block * 31));
        }
        return content.array();
    }
}
