package dev.sprig.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Linux boots from Sprig clones: the boot set of {@code scripts/make-boot-image.sh} (a Debian cloud
 * kernel, a busybox initramfs, an ext4 root file system as the image), imported into a real
 * api-server, two clones of it booted at once by QEMU (TCG) through one {@code sprig-agent serve
 * --socket}, the disks read back afterwards with {@code sprig-agent disks export} and checked with
 * e2fsprogs. Each VM's init writes a marker naming its VM, checks a file of the image against its
 * sha256, prints {@code sprig: booted NAME} on the serial console and powers off.
 */
class VmBootIT {

    static final Path LIBVIRT_EXAMPLE =
            Path.of("..", "docs", "examples", "sprig-vm.xml").toAbsolutePath().normalize();

    static ApiServerProcess apiServer;
    static Path bootSet;
    static Path socketDir;

    @BeforeAll
    static void start() throws Exception {
        apiServer = ApiServerProcess.start("vm-boot");
        bootSet = Vms.bootSet(apiServer.dir.resolve("boot"), "64M");
        // a unix socket's path may not exceed 107 bytes; target/ may be deep
        socketDir = Files.createTempDirectory("sprig-vm");
    }

    @AfterAll
    static void stop() throws Exception {
        if (apiServer != null) {
            apiServer.close();
        }
        if (socketDir != null) {
            Files.deleteIfExists(socketDir.resolve("agent.sock"));
            Files.deleteIfExists(socketDir);
        }
    }

    @Test
    void twoVmsBootAtOnceFromClonesOfOneImageAndEachWritesOnlyItsOwnDisk() throws Exception {
        Path base = bootSet.resolve("base.raw");
        String image = agent("images", "import", base.toString(), "--name", SprigApi.unique("boot"))
                .strip();
        List<String> disks =
                agent("disks", "clone", image, "--count", "3").lines().toList();
        Path socket = socketDir.resolve("agent.sock");
        Process serve = new ProcessBuilder(command("serve", "--socket", socket.toString()))
                .redirectErrorStream(true)
                .redirectOutput(apiServer.dir.resolve("serve.log").toFile())
                .start();
        List<Process> vms = new ArrayList<>();
        try {
            awaitServing(socket, disks.get(0));

            for (String name : List.of("vm-a", "vm-b")) {
                String disk = disks.get(vms.size());
                vms.add(Vms.start(bootSet, name, "nbd+unix:///" + disk + "?socket=" + socket, apiServer.dir));
            }
            Vms.awaitBooted(vms.get(0), "vm-a", apiServer.dir);
            Vms.awaitBooted(vms.get(1), "vm-b", apiServer.dir);
        } finally {
            vms.forEach(Process::destroyForcibly);
            serve.destroy();
            serve.waitFor();
        }

        Path a = export(disks.get(0));
        Path b = export(disks.get(1));
        assertThat(Vms.debugfs(a, "cat /marker").strip()).isEqualTo("vm-a");
        assertThat(Vms.debugfs(b, "cat /marker").strip()).isEqualTo("vm-b");
        assertThat(Vms.debugfs(a, "ls /markers")).contains("vm-a").doesNotContain("vm-b");
        assertThat(Vms.debugfs(b, "ls /markers")).contains("vm-b").doesNotContain("vm-a");
        assertThat(Tools.run("e2fsck", "-fn", a.toString()).exitCode()).isZero();
        assertThat(Tools.run("e2fsck", "-fn", b.toString()).exitCode()).isZero();
        // the third clone was never booted: it reads as the image, which the boots left alone
        assertThat(Files.mismatch(export(disks.get(2)), base)).isEqualTo(-1L);
    }

    @Test
    void theLibvirtDomainOfTheDocsIsValidAndServesItsDiskFromTheAgentsSocket() throws Exception {
        Tools.Result validation = Tools.run("virt-xml-validate", LIBVIRT_EXAMPLE.toString(), "domain");

        assertThat(validation.exitCode()).as(validation.output()).isZero();
        assertThat(Files.readString(LIBVIRT_EXAMPLE))
                .contains("<source protocol='nbd' name='disk-")
                .contains("<host transport='unix' socket=")
                .contains("<driver name='qemu' type='raw' cache='none'/>")
                .contains("<acpi/>");
    }

    private static void awaitServing(Path socket, String disk) throws Exception {
        String uri = "nbd+unix:///" + disk + "?socket=" + socket;
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (Tools.run("nbdinfo", "--size", uri).exitCode() != 0) {
            assertThat(System.nanoTime())
                    .as("sprig-agent serve answers on %s", socket)
                    .isLessThan(deadline);
            Thread.sleep(200); // the JVM is still starting
        }
    }

    private static Path export(String disk) throws Exception {
        Path file = apiServer.dir.resolve(disk + ".raw");
        agent("disks", "export", disk, file.toString());
        return file;
    }

    private static String agent(String... arguments) throws Exception {
        return Tools.stdout(command(arguments));
    }

    private static String[] command(String... arguments) {
        return CliIT.commandVia(apiServer.uri().toString(), arguments);
    }
}
