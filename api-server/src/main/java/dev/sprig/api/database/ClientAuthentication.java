package dev.sprig.api.database;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The embedded server's {@code pg_hba.conf}: every connection, over TCP or a socket, proves the
 * superuser's password with SCRAM. The library's initdb writes {@code trust} for all local
 * connections, and api-server before this file existed ran with it; such a file is replaced.
 */
final class ClientAuthentication {

    static final String FILE = "pg_hba.conf";

    static final String CONTENT = """
            # Written by Sprig api-server at start-up; changes are overwritten.
            # Every connection needs the superuser's password, which is in sprig-password (owner-only).
            # TYPE  DATABASE  USER  ADDRESS       METHOD
            local   all       all                 scram-sha-256
            host    all       all   127.0.0.1/32  scram-sha-256
            """;

    private ClientAuthentication() {}

    /** Whether the data directory's rules are Sprig's; false for a directory older api-servers made. */
    static boolean isCurrent(Path dataDir) throws IOException {
        Path file = dataDir.resolve(FILE);
        return Files.isRegularFile(file)
                && Files.readString(file, StandardCharsets.UTF_8).equals(CONTENT);
    }

    static void write(Path dataDir) throws IOException {
        Path next = dataDir.resolve(FILE + ".new");
        Files.deleteIfExists(next);
        Files.createFile(next, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(next, CONTENT, StandardCharsets.UTF_8);
        Files.move(next, dataDir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
