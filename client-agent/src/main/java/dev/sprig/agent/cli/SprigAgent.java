package dev.sprig.agent.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code sprig-agent}: serves Sprig disks over NBD on a VM host. */
@Command(
        name = "sprig-agent",
        mixinStandardHelpOptions = true,
        version = "sprig-agent 0.1.0",
        description = "Serves Sprig disks over NBD to QEMU and the NBD tools.",
        subcommands = {ServeCommand.class})
public final class SprigAgent {

    public static void main(String[] args) {
        System.exit(new CommandLine(new SprigAgent()).execute(args));
    }
}
