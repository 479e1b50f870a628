package dev.sprig.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * VMs for the tests, as {@code docs/vms.md} runs them: the boot set of {@code
 * scripts/make-boot-image.sh}, and QEMU (TCG) booting it with a Sprig disk as its root. The VM's
 * init writes a marker naming it, checks a file of the image, prints {@code sprig: booted NAME} on
 * its serial console and powers off.
 */
final class Vms {

    static final Path MAKE_BOOT_IMAGE =
            Path.of("..", "scripts", "make-boot-image.sh").toAbsolutePath().normalize();
    /** A TCG boot takes 2 to 4 s alone on the 2-core test VM; two at once beside other tests, longer. */
    static final Duration BOOT_TIMEOUT = Duration.ofSeconds(150);

    private Vms() {}

    /** Builds the boot set (vmlinuz, initrd.img, base.raw of {@code imageSize}) in {@code dir}. */
    static Path bootSet(Path dir, String imageSize) throws Exception {
        Tools.succeed(MAKE_BOOT_IMAGE.toString(), "-s", imageSize, dir.toString());
        return dir;
    }

    /**
     * Starts QEMU on {@code bootSet}'s kernel and initramfs with the disk at {@code drive} (a QEMU
     * file name: {@code nbd://…} or {@code nbd+unix://…}) as its root; its console goes to {@link
     * #console}.
     */
    static Process start(Path bootSet, String name, String drive, Path logs) throws Exception {
        return new ProcessBuilder(List.of(
                        "qemu-system-x86_64",
                        "-accel",
                        "tcg",
                        "-m",
                        "256",
                        "-nodefaults",
                        "-no-user-config",
                        "-display",
                        "none",
                        "-no-reboot",
                        "-serial",
                        "file:" + console(logs, name),
                        "-kernel",
                        bootSet.resolve("vmlinuz").toString(),
                        "-initrd",
                        bootSet.resolve("initrd.img").toString(),
                        "-append",
                        "console=ttyS0 root=/dev/vda rw quiet sprig.vm=" + name,
                        "-drive",
                        "file=" + drive + ",format=raw,if=virtio,cache=none"))
                .redirectErrorStream(true)
                .redirectOutput(logs.resolve(name + "-qemu.log").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
    }

    /** Waits for the VM to power off by itself, and checks it booted: its exit, and its console. */
    static void awaitBooted(Process vm, String name, Path logs) throws Exception {
        assertThat(vm.waitFor(BOOT_TIMEOUT.toSeconds(), TimeUnit.SECONDS))
                .as("%s powered off within %s", name, BOOT_TIMEOUT)
                .isTrue();
        assertThat(vm.exitValue()).as("QEMU's exit for %s", name).isZero();
        assertThat(Files.readString(console(logs, name)))
                .contains("/etc/sprig-image OK")
                .contains("sprig: booted " + name);
    }

    static Path console(Path logs, String name) {
        return logs.resolve(name + "-console.log");
    }

    /** debugfs's answer to one request against the file system in {@code raw}, opened read-only. */
    static String debugfs(Path raw, String request) throws Exception {
        return Tools.stdout("debugfs", "-R", request, raw.toString());
    }
}
