package dev.sprig.node.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.NewLc;
import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.server.ClientsView;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.nbd.server.RawNbdClient;
import dev.sprig.node.NodeTestDirs;
import dev.sprig.node.StorageNodeApplication;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The NBD data port, driven by the real clients from Debian (qemu-io, qemu-img, nbdinfo, fio). */
@SpringBootTest(
        classes = StorageNodeApplication.class,
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "spring.config.name=" + StorageNodeApplication.CONFIG_NAME,
            "sprig.node.token=" + NbdDataPortIT.TOKEN,
            "sprig.node.nbd.port=0",
            "sprig.node.nbd.address=127.0.0.1"
        })
class NbdDataPortIT {

    static final String TOKEN = "nbd-token";
    static final int MIB = 1 << 20;
    static final AtomicLong IDS = new AtomicLong(100);
    static Path dataDir;

    @DynamicPropertySource
    static void dataDir(DynamicPropertyRegistry registry) {
        dataDir = NodeTestDirs.fresh("nbd");
        registry.add("sprig.node.data-dir", dataDir::toString);
    }

    @Autowired
    ChunkEngine engine;

    @Autowired
    NbdServer server;

    @Autowired
    io.micrometer.core.instrument.MeterRegistry registry;

    long image;
    byte[] imageBytes;

    @BeforeEach
    void anImageWithContent() {
        image = IDS.incrementAndGet();
        imageBytes = new byte[8 * MIB];
        new Random(image).nextBytes(imageBytes);
        engine.create(image, imageBytes.length);
        engine.write(image, 0, imageBytes);
        engine.freeze(image);
    }

    @Test
    void nbdinfoShowsTheSizeAndAFrozenLcIsReadOnly() {
        long clone = clone(16 * MIB);

        assertThat(Tool.run("nbdinfo", "--size", uri(clone))
                        .succeeded()
                        .output()
                        .strip())
                .isEqualTo(Long.toString(16 * MIB));
        assertThat(Tool.run("nbdinfo", "--is", "read-only", uri(image)).exitCode())
                .isZero();
        assertThat(Tool.run("nbdinfo", "--is", "read-only", uri(clone)).exitCode())
                .isNotZero();
    }

    @Test
    void aCloneConvertedToRawEqualsItsImageByteForByte() throws IOException {
        long clone = clone(8 * MIB);
        Path out = dataDir.resolveSibling("clone-" + clone + ".raw");

        Tool.run("qemu-img", "convert", "-f", "raw", "-O", "raw", uri(clone), out.toString())
                .succeeded();

        assertThat(Files.readAllBytes(out)).isEqualTo(imageBytes);
        Files.delete(out);
    }

    @Test
    void aPatternWrittenOnOneConnectionIsReadBackOnAnotherAndTouchesNeitherImageNorSibling() {
        long clone = clone(8 * MIB);
        long sibling = clone(8 * MIB);

        Tool.run("qemu-io", "-f", "raw", "-c", "write -P 0xab 4000k 300k", "-c", "flush", uri(clone))
                .succeeded();

        Tool readBack = Tool.run("qemu-io", "-f", "raw", "-r", "-c", "read -P 0xab 4000k 300k", uri(clone));
        assertThat(readBack.succeeded().output()).doesNotContain("Pattern verification failed");
        assertThat(engine.read(image, 0, imageBytes.length)).isEqualTo(imageBytes);
        assertThat(engine.read(sibling, 0, imageBytes.length)).isEqualTo(imageBytes);
        byte[] expected = imageBytes.clone();
        java.util.Arrays.fill(expected, 4000 * 1024, 4300 * 1024, (byte) 0xab);
        assertThat(engine.read(clone, 0, expected.length)).isEqualTo(expected);
    }

    @Test
    void writesToAFrozenLcAreRefusedWithEperm() {
        Tool write = Tool.run("qemu-io", "-f", "raw", "-c", "write -P 1 0 4k", uri(image));
        assertThat(write.output()).containsIgnoringCase("permission denied").doesNotContain("wrote 4096");
        assertThat(engine.read(image, 0, 4096)).isEqualTo(java.util.Arrays.copyOf(imageBytes, 4096));
    }

    @Test
    void zeroesAndTrimReadBackAsZeros() {
        long clone = clone(8 * MIB);
        Tool.run("qemu-io", "-f", "raw", "-c", "write -z 0 1M", "-c", "discard 1M 1M", uri(clone))
                .succeeded();
        assertThat(Tool.run("qemu-io", "-f", "raw", "-r", "-c", "read -P 0 0 2M", uri(clone))
                        .succeeded()
                        .output())
                .doesNotContain("Pattern verification failed");
        assertThat(engine.stats(clone).bytesStored()).isZero();
    }

    @Test
    void aFreshCloneReadsAsItsImageToEveryClientAndIsMappedAsDataThenZeros() {
        long clone = clone(16 * MIB);
        byte[] expected = java.util.Arrays.copyOf(imageBytes, 16 * MIB);

        List<String> map = ClientsView.check(uri(clone), expected, scratch(clone));

        assertThat(map)
                .as("what it shares with its image is data; beyond the image it reads zeros")
                .containsExactly("0+8388608 data", "8388608+8388608 zero");
    }

    @Test
    void aWrittenCloneReadsAsWrittenToEveryClient() {
        long clone = clone(16 * MIB);
        Tool.run("qemu-io", "-f", "raw", "-c", "write -P 0xab 4000k 300k", "-c", "write -P 0xcd 12M 256k", uri(clone))
                .succeeded();
        byte[] expected = java.util.Arrays.copyOf(imageBytes, 16 * MIB);
        java.util.Arrays.fill(expected, 4000 * 1024, 4300 * 1024, (byte) 0xab);
        java.util.Arrays.fill(expected, 12 * MIB, 12 * MIB + 256 * 1024, (byte) 0xcd);

        List<String> map = ClientsView.check(uri(clone), expected, scratch(clone));

        assertThat(map)
                .containsExactly(
                        "0+8388608 data", "8388608+4194304 zero", "12582912+262144 data", "12845056+3932160 zero");
    }

    @Test
    void aTrimmedCloneReadsZerosWhereTrimmedToEveryClient() {
        long clone = clone(8 * MIB);
        Tool.run("qemu-io", "-f", "raw", "-c", "discard 1M 1M", "-c", "write -z 6M 512k", uri(clone))
                .succeeded();
        byte[] expected = imageBytes.clone();
        java.util.Arrays.fill(expected, MIB, 2 * MIB, (byte) 0);
        java.util.Arrays.fill(expected, 6 * MIB, 6 * MIB + 512 * 1024, (byte) 0);

        List<String> map = ClientsView.check(uri(clone), expected, scratch(clone));

        assertThat(map)
                .containsExactly(
                        "0+1048576 data",
                        "1048576+1048576 zero",
                        "2097152+4194304 data",
                        "6291456+524288 zero",
                        "6815744+1572864 data");
    }

    @Test
    void allocationDepthTellsWhichLcOfTheChainEachRangeComesFrom() {
        long snapshot = IDS.incrementAndGet();
        engine.createAll(List.of(new NewLc(snapshot, image, 8 * MIB, false)));
        engine.write(snapshot, 2 * MIB, new byte[MIB]); // zeros, written: still data of the snapshot
        engine.freeze(snapshot);
        long clone = IDS.incrementAndGet();
        engine.createAll(List.of(new NewLc(clone, snapshot, 16 * MIB, false)));
        Tool.run("qemu-io", "-f", "raw", "-c", "write -P 0x5 4M 256k", uri(clone))
                .succeeded();

        String map = Tool.run("nbdinfo", "--map=qemu:allocation-depth", uri(clone))
                .succeeded()
                .output();

        assertThat(depths(map))
                .containsExactly(
                        "0+2097152 3",
                        "2097152+1048576 2",
                        "3145728+1048576 3",
                        "4194304+262144 1",
                        "4456448+3932160 3",
                        "8388608+8388608 0");
    }

    /** nbdinfo's map lines (offset, length, depth, its name) as "offset+length depth". */
    private static List<String> depths(String map) {
        return map.strip()
                .lines()
                .map(line -> line.strip().split("\\s+"))
                .map(fields -> fields[0] + "+" + fields[1] + " " + fields[2])
                .toList();
    }

    @Test
    void fioWithCrc32cVerificationPasses() {
        long clone = clone(8 * MIB);
        Tool fio = Tool.run(
                "fio",
                "--name=verify",
                "--ioengine=nbd",
                "--uri=" + uri(clone),
                "--rw=randwrite",
                "--bs=4k",
                "--iodepth=16",
                "--size=" + 8 * MIB,
                "--io_size=" + 4 * MIB,
                "--verify=crc32c",
                "--verify_fatal=1",
                "--do_verify=1",
                "--verify_state_save=0");
        assertThat(fio.succeeded().output()).doesNotContain("verify: bad");
    }

    @Test
    void nbdIoIsCountedInTheNodeMetrics() {
        long clone = clone(8 * MIB);
        double writtenBefore = registry.get("sprig.node.bytes")
                .tag("direction", "write")
                .counter()
                .count();
        long writesBefore =
                registry.get("sprig.node.io").tag("op", "write").timer().count();

        Tool.run("qemu-io", "-f", "raw", "-c", "write -P 7 0 64k", uri(clone)).succeeded();

        assertThat(registry.get("sprig.node.bytes")
                                .tag("direction", "write")
                                .counter()
                                .count()
                        - writtenBefore)
                .isEqualTo(65536);
        assertThat(registry.get("sprig.node.io").tag("op", "write").timer().count())
                .isGreaterThan(writesBefore);
    }

    @Test
    void aWrongTokenOrUnknownLcOpensNothing() {
        long clone = clone(8 * MIB);
        assertThat(Tool.run("nbdinfo", "nbd://127.0.0.1:" + server.port() + "/wrong/" + clone)
                        .exitCode())
                .isNotZero();
        assertThat(Tool.run("nbdinfo", "nbd://127.0.0.1:" + server.port() + "/" + ExportName.of(TOKEN, 999999))
                        .exitCode())
                .isNotZero();
        assertThat(Tool.run("nbdinfo", "nbd://127.0.0.1:" + server.port() + "/" + clone)
                        .exitCode())
                .isNotZero();
        assertThat(Tool.run("nbdinfo", "--list", "nbd://127.0.0.1:" + server.port())
                        .output())
                .doesNotContain(Long.toString(clone));
    }

    @Test
    void badRequestsGetProtocolErrorsAndTheConnectionKeepsServing() throws IOException {
        long clone = clone(8 * MIB);
        try (var client = RawNbdClient.open("127.0.0.1", server.port(), ExportName.of(TOKEN, clone))) {
            assertThat(client.read(8L * MIB - 10, 4096).error())
                    .as("read past the end")
                    .isEqualTo(Nbd.EINVAL);

            assertThat(client.write(8L * MIB - 10, new byte[100]))
                    .as("write past the end")
                    .isEqualTo(Nbd.ENOSPC);

            assertThat(client.write(0, new byte[Nbd.MAX_PAYLOAD + 4096]))
                    .as("write larger than the maximum")
                    .isEqualTo(Nbd.EOVERFLOW);

            assertThat(client.read(0, 64).data()).isEqualTo(java.util.Arrays.copyOf(imageBytes, 64));

            assertThat(client.command(99, 0, 0)).as("unknown command").isEqualTo(Nbd.EINVAL);
        }
        assertThat(engine.read(clone, 0, imageBytes.length))
                .as("nothing was written")
                .isEqualTo(imageBytes);
    }

    @Test
    void garbageInTheHandshakeClosesThatConnectionOnly() throws IOException {
        try (var garbage = new java.net.Socket("127.0.0.1", server.port())) {
            garbage.setSoTimeout(10_000);
            garbage.getInputStream().readNBytes(18);
            garbage.getOutputStream()
                    .write("GET / HTTP/1.1\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            assertThat(garbage.getInputStream().read())
                    .as("the server hangs up")
                    .isEqualTo(-1);
        }
        assertThat(Tool.run("nbdinfo", "--size", uri(clone(8 * MIB)))
                        .succeeded()
                        .output()
                        .strip())
                .isEqualTo(Long.toString(8 * MIB));
    }

    private long clone(long size) {
        long clone = IDS.incrementAndGet();
        engine.createAll(List.of(new NewLc(clone, image, size, false)));
        return clone;
    }

    private static Path scratch(long lc) {
        return dataDir.resolveSibling("clients-view-" + lc);
    }

    private String uri(long lc) {
        return "nbd://127.0.0.1:" + server.port() + "/" + ExportName.of(TOKEN, lc);
    }
}
