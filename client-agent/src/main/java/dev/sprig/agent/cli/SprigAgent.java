package dev.sprig.agent.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code sprig-agent}: serves Sprig disks over NBD on a VM host. */
@Command(
        name = "sprig-agent",
        mixinStandardHelpOptions = true,
        version = "sprig-agent 0.1.0",
        description = "Serves Sprig disks over NBD to QEMU and the NBD tools.",
        subcommands = {ServeCommand.class, ImagesCommand.class, DisksCommand.class, SnapshotsCommand.class})
public final class SprigAgent {

    public static void main(String[] args) {
        System.exit(new CommandLine(new SprigAgent())
                .setExecutionExceptionHandler(SprigAgent::report)
                .execute(args));
    }

    /** api-server's refusals and I/O failures are the user's to read, not a stack trace. */
    private static int report(Exception failure, CommandLine command, CommandLine.ParseResult parsed) throws Exception {
        if (!(failure instanceof java.io.IOException)) {
            throw failure;
        }
        command.getErr().println("sprig-agent: " + failure.getMessage());
        return 1;
    }
}
