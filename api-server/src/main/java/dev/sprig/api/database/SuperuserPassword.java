package dev.sprig.api.database;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Set;

/**
 * The embedded server's superuser password, generated at the first start and kept in the data
 * directory ({@value #FILE}, owner-only), so that a backup of the directory restores with it and
 * nothing else on the machine can log in as the superuser (which can run programs with {@code COPY
 * … TO PROGRAM}).
 *
 * <p>initdb refuses a data directory that holds any file, so a new password first goes beside the
 * directory ({@link #pendingFile}), initdb reads it from there, and it moves into the directory once
 * initdb has made it. A start killed in between finds it there again.
 */
record SuperuserPassword(String value) {

    static final String FILE = "sprig-password";

    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
    private static final SecureRandom RANDOM = new SecureRandom();

    /** The kept password, else one a start killed before keeping it left pending, else a new one, pending. */
    static SuperuserPassword of(Path dataDir) throws IOException {
        Path kept = dataDir.resolve(FILE);
        if (Files.isRegularFile(kept)) {
            return read(kept);
        }
        Path pending = pendingFile(dataDir);
        // an empty one is a start killed while writing it, before initdb could use it
        if (Files.isRegularFile(pending) && Files.size(pending) > 0) {
            return read(pending);
        }
        byte[] secret = new byte[32];
        RANDOM.nextBytes(secret);
        // base64url: no quote, backslash or space, so it is safe in a SQL literal and a pwfile line
        var password =
                new SuperuserPassword(Base64.getUrlEncoder().withoutPadding().encodeToString(secret));
        Files.createDirectories(pending.getParent());
        password.writeTo(pending);
        return password;
    }

    /** Where a password waits while initdb makes the data directory. */
    static Path pendingFile(Path dataDir) {
        return dataDir.resolveSibling("." + dataDir.getFileName() + "." + FILE);
    }

    /** Puts the password in the data directory (owner-only, durable) and drops the pending copy. */
    void keep(Path dataDir) throws IOException {
        Path kept = dataDir.resolve(FILE);
        if (!Files.isRegularFile(kept)) {
            Path next = dataDir.resolve(FILE + ".new");
            writeTo(next);
            Files.move(next, kept, StandardCopyOption.ATOMIC_MOVE);
            syncDirectory(dataDir);
        }
        Files.setPosixFilePermissions(kept, OWNER_ONLY);
        Files.deleteIfExists(pendingFile(dataDir));
    }

    private void writeTo(Path file) throws IOException {
        Files.deleteIfExists(file);
        // created owner-only, never readable by others even for a moment
        Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.wrap((value + "\n").getBytes(StandardCharsets.US_ASCII)));
            channel.force(true);
        }
        syncDirectory(file.getParent());
    }

    private static SuperuserPassword read(Path file) throws IOException {
        String value = Files.readString(file, StandardCharsets.US_ASCII).strip();
        if (value.isEmpty()) {
            throw new IOException(file + " is empty: it should hold the embedded PostgreSQL's password");
        }
        return new SuperuserPassword(value);
    }

    private static void syncDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    @Override
    public String toString() {
        return "SuperuserPassword[…]";
    }
}
