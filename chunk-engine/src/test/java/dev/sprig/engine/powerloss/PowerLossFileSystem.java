package dev.sprig.engine.powerloss;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.WatchService;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * A file system that loses power: one real directory seen through a file system of its own, which
 * remembers what has not been made durable and throws it away at a power loss. A {@code kill -9}
 * keeps the page cache, so it cannot tell whether a program fsyncs what it relies on; this can.
 *
 * <p><b>What it models.</b> Each file (an inode, whatever its name) keeps an undo log of the writes
 * and truncations made to it since its last {@code force} (fsync or fdatasync, alike: data and
 * size); a force empties the log. The directory has a current set of entries (name to inode) and a
 * durable one, which becomes a copy of the current one when the directory itself is forced
 * ({@code FileChannel.open(dir, READ).force(...)}). Creating, renaming and deleting a file change
 * only the current entries. At a power loss ({@link #powerOff}, or the failing call after
 * {@link #powerOffAfter}) every later call fails, as if the process had died with the machine;
 * {@link #reboot} then rolls every file back through its undo log and makes the directory hold
 * exactly its durable entries: a file created since is gone, a file deleted or renamed since is back
 * under its old name with the contents it had at its own last force.
 *
 * <p>{@link Names#FILE_FSYNC_TOO} adds what journaling file systems (ext4, xfs, btrfs) do and
 * programs commonly rely on: forcing a newly created file also makes the entry that created it
 * durable. {@link Names#DIRECTORY_FSYNC_ONLY} is POSIX at its strictest.
 *
 * <p><b>What it does not model.</b> Torn writes: an unforced write is lost whole, or with {@link
 * #letSomeUnforcedChangesSurvive} kept whole. Directory changes not forced that survive anyway (they
 * are always lost). Files outside the one directory (refused), the creation of directories (durable
 * at once), hard links, mtime and other attributes; writable memory mappings, {@code
 * transferTo/From}, {@code APPEND} and {@code DELETE_ON_CLOSE} (refused). {@code DIRECT} is
 * passed to the real file system, which may refuse it as it would anyway. Forces are not passed on:
 * the real disk's durability is irrelevant here, and skipping it keeps the tests fast.
 */
public final class PowerLossFileSystem extends FileSystem {

    /** When a new directory entry becomes durable. */
    public enum Names {
        /** Only when the directory is forced (POSIX at its strictest). */
        DIRECTORY_FSYNC_ONLY,
        /** Also when the new file is forced (ext4, xfs and btrfs commit its creation with it). */
        FILE_FSYNC_TOO
    }

    /** One file, whatever its current name (or none: deleted, but perhaps durable under an old one). */
    static final class Inode {
        final long id;
        /** Where the real file is now: in the directory, or in the graveyard once deleted. */
        Path location;
        /** Open on the real file for as long as this file system runs, for the undo log and the rollback. */
        final FileChannel raw;
        /** What to do, last first, to get back to the file's state at its last force. */
        final List<Undo> undo = new ArrayList<>();
        /** The name it was created under, or null if it was there at boot. */
        final @Nullable String createdAs;

        Inode(long id, Path location, @Nullable String createdAs) throws IOException {
            this.id = id;
            this.location = location;
            this.createdAs = createdAs;
            this.raw = FileChannel.open(location, StandardOpenOption.READ, StandardOpenOption.WRITE);
        }
    }

    /** Writing {@code old} at {@code offset} and cutting the file to {@code oldSize} undoes one change. */
    record Undo(long offset, byte[] old, long oldSize) {}

    private final PowerLossProvider provider = new PowerLossProvider(this);
    private final Path realDir;
    private final Path graveyard;
    private final Names names;
    private final Object lock = new Object();
    private final Map<String, Inode> current = new HashMap<>();
    private final Map<String, Inode> durable = new HashMap<>();
    private final List<Inode> inodes = new ArrayList<>();
    private final Set<FileChannel> opened = new HashSet<>();
    private volatile boolean off;
    private boolean rebooted;
    private long mutationsLeft = Long.MAX_VALUE;
    private long mutations;
    private Predicate<String> lyingForce = name -> false;
    private @Nullable Random survivors;
    private @Nullable String lostAt;

    private PowerLossFileSystem(Path realDir, Names names) {
        this.realDir = realDir.toAbsolutePath().normalize();
        this.names = names;
        this.graveyard = this.realDir.resolveSibling(this.realDir.getFileName() + ".power-loss-graveyard");
    }

    /**
     * Powers up {@code realDir} (created if missing): every file it holds is durable as it is. The
     * graveyard, where deleted files wait for a power loss that may bring them back, is a sibling
     * directory, so that a deleted file is renamed there, not copied.
     */
    public static PowerLossFileSystem boot(Path realDir, Names names) throws IOException {
        PowerLossFileSystem fs = new PowerLossFileSystem(realDir, names);
        Files.createDirectories(fs.realDir);
        Files.createDirectories(fs.graveyard);
        try (Stream<Path> files = Files.list(fs.realDir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                fs.register(f, true);
            }
        }
        return fs;
    }

    /** The directory, as the engine should be given it. */
    public Path dir() {
        return new PowerLossPath(this, realDir);
    }

    /**
     * The power fails at the call that would make the {@code n + 1}th change from now (a write,
     * truncation, force, creation, rename or deletion), which then throws, as every call after it.
     */
    public void powerOffAfter(long n) {
        synchronized (lock) {
            mutationsLeft = n;
        }
    }

    /** The power fails now. */
    public void powerOff() {
        synchronized (lock) {
            if (!off) {
                off = true;
                lostAt = "by the test";
            }
        }
    }

    public boolean isOff() {
        return off;
    }

    /** The call the power failed at, for messages. */
    public @Nullable String lostAt() {
        synchronized (lock) {
            return lostAt;
        }
    }

    /** The changes made so far. */
    public long mutations() {
        synchronized (lock) {
            return mutations;
        }
    }

    /**
     * Makes the force of every file whose name matches a no-op that reports success, as a disk with
     * a volatile write cache that ignores flushes does: for the test that shows a missing fsync is
     * noticed.
     */
    public void lieAboutForceOf(Predicate<String> fileName) {
        synchronized (lock) {
            lyingForce = fileName;
        }
    }

    /**
     * Lets each change made since its file's last force survive the power loss or not, at random,
     * as a disk that wrote back some of its cache does, instead of losing them all. Changes are kept
     * or lost whole (no torn writes), and undoing a change also undoes the later changes it
     * overlaps, so a file that grows by appends (a journal) keeps a prefix of them.
     */
    public void letSomeUnforcedChangesSurvive(Random random) {
        synchronized (lock) {
            survivors = random;
        }
    }

    /**
     * After the power loss: closes every file the dead program had open, undoes every change since
     * each file's last force and leaves the directory with exactly its durable entries. This file
     * system is unusable afterwards; {@link #boot} a new one over the same directory.
     */
    public void reboot() throws IOException {
        synchronized (lock) {
            if (!off) {
                throw new IllegalStateException("reboot before a power loss");
            }
            if (rebooted) {
                return;
            }
            rebooted = true;
            for (FileChannel ch : opened) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // the process that had it open is dead; its channels are gone either way
                }
            }
            for (Inode inode : inodes) {
                for (int i = inode.undo.size() - 1; i >= 0; i--) {
                    Undo u = inode.undo.get(i);
                    if (survivors != null && survivors.nextBoolean()) {
                        continue;
                    }
                    ByteBuffer old = ByteBuffer.wrap(u.old());
                    long at = u.offset();
                    while (old.hasRemaining()) {
                        at += inode.raw.write(old, at);
                    }
                    if (inode.raw.size() > u.oldSize()) {
                        inode.raw.truncate(u.oldSize());
                    }
                }
                inode.raw.close();
                bury(inode);
            }
            for (Map.Entry<String, Inode> e : durable.entrySet()) {
                Files.move(e.getValue().location, realDir.resolve(e.getKey()));
            }
            try (Stream<Path> dead = Files.list(graveyard)) {
                for (Path f : dead.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(graveyard);
        }
    }

    // ---------------------------------------------------------------- the model, for the provider and channels

    void checkOn() throws IOException {
        if (off) {
            throw new IOException("Input/output error (power lost " + lostAt + ")");
        }
    }

    /** Under the lock: one more change, or the power loss if it is the one that fails. */
    private void mutate(String what) throws IOException {
        checkOn();
        if (mutationsLeft == 0) {
            off = true;
            lostAt = "at " + what;
            checkOn();
        }
        if (mutationsLeft != Long.MAX_VALUE) {
            mutationsLeft--;
        }
        mutations++;
    }

    private String nameIn(Path real) {
        Path parent = real.getParent();
        if (parent == null || !parent.equals(realDir)) {
            throw new UnsupportedOperationException(
                    "the power-loss file system models files in " + realDir + " only, not " + real);
        }
        return real.getFileName().toString();
    }

    private Inode register(Path real, boolean isDurable) throws IOException {
        String name = nameIn(real);
        Inode inode = new Inode(inodes.size(), real, isDurable ? null : name);
        inodes.add(inode);
        current.put(name, inode);
        if (isDurable) {
            durable.put(name, inode);
        }
        return inode;
    }

    FileChannel newFileChannel(Path real, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        Path path = real.toAbsolutePath().normalize();
        if (options.contains(StandardOpenOption.APPEND) || options.contains(StandardOpenOption.DELETE_ON_CLOSE)) {
            throw new UnsupportedOperationException("not modelled by the power-loss file system: " + options);
        }
        synchronized (lock) {
            checkOn();
            if (path.equals(realDir)) {
                FileChannel ch = FileChannel.open(path, options, attrs);
                opened.add(ch);
                return new PowerLossChannel(this, null, ch);
            }
            String name = nameIn(path);
            Inode inode = current.get(name);
            boolean writes = options.contains(StandardOpenOption.WRITE);
            if (inode == null && Files.exists(path)) {
                // put there behind the model's back: taken as durable, as at boot
                inode = register(path, true);
            }
            boolean creates = inode == null
                    && (options.contains(StandardOpenOption.CREATE) || options.contains(StandardOpenOption.CREATE_NEW));
            if (creates) {
                mutate("create " + name);
            }
            if (inode != null && writes && options.contains(StandardOpenOption.TRUNCATE_EXISTING)) {
                mutate("truncate " + name);
                captureTruncate(inode, 0);
            }
            FileChannel ch = FileChannel.open(path, options, attrs);
            opened.add(ch);
            if (inode == null) {
                inode = register(path, false);
            }
            return new PowerLossChannel(this, inode, ch);
        }
    }

    int write(Inode inode, FileChannel ch, ByteBuffer src, long position) throws IOException {
        synchronized (lock) {
            mutate("write " + inode.location.getFileName());
            long at = position < 0 ? ch.position() : position;
            long oldSize = inode.raw.size();
            byte[] old = new byte[(int) Math.max(0, Math.min(src.remaining(), oldSize - at))];
            readFully(inode.raw, ByteBuffer.wrap(old), at);
            inode.undo.add(new Undo(at, old, oldSize));
            return position < 0 ? ch.write(src) : ch.write(src, position);
        }
    }

    void truncate(Inode inode, FileChannel ch, long size) throws IOException {
        synchronized (lock) {
            mutate("truncate " + inode.location.getFileName());
            captureTruncate(inode, size);
            ch.truncate(size);
        }
    }

    private static void captureTruncate(Inode inode, long size) throws IOException {
        long oldSize = inode.raw.size();
        if (size < oldSize) {
            byte[] old = new byte[Math.toIntExact(oldSize - size)];
            readFully(inode.raw, ByteBuffer.wrap(old), size);
            inode.undo.add(new Undo(size, old, oldSize));
        }
    }

    /** Forces a file (its undo log is dropped) or, for null, the directory (its entries become durable). */
    void force(@Nullable Inode inode) throws IOException {
        synchronized (lock) {
            if (inode == null) {
                mutate("fsync of the directory");
                durable.clear();
                durable.putAll(current);
                return;
            }
            String name = nameOf(inode);
            mutate("fsync of " + (name != null ? name : "a deleted file"));
            if (name != null && lyingForce.test(name)) {
                return;
            }
            inode.undo.clear();
            String created = inode.createdAs;
            if (names == Names.FILE_FSYNC_TOO && created != null && current.get(created) == inode) {
                durable.put(created, inode);
            }
        }
    }

    private @Nullable String nameOf(Inode inode) {
        for (Map.Entry<String, Inode> e : current.entrySet()) {
            if (e.getValue() == inode) {
                return e.getKey();
            }
        }
        return null;
    }

    void move(Path from, Path to, boolean replace) throws IOException {
        synchronized (lock) {
            String source = nameIn(from.toAbsolutePath().normalize());
            String target = nameIn(to.toAbsolutePath().normalize());
            mutate("rename of " + source + " to " + target);
            Inode inode = current.get(source);
            if (inode == null) {
                throw new NoSuchFileException(from.toString());
            }
            Inode replaced = current.get(target);
            if (replaced != null && !replace) {
                throw new FileAlreadyExistsException(to.toString());
            }
            if (replaced != null) {
                bury(replaced);
                current.remove(target);
            }
            Path there = realDir.resolve(target);
            Files.move(inode.location, there, StandardCopyOption.ATOMIC_MOVE);
            inode.location = there;
            current.remove(source);
            current.put(target, inode);
        }
    }

    void delete(Path path) throws IOException {
        synchronized (lock) {
            String name = nameIn(path.toAbsolutePath().normalize());
            mutate("unlink of " + name);
            Inode inode = current.remove(name);
            if (inode == null) {
                throw new NoSuchFileException(path.toString());
            }
            bury(inode);
        }
    }

    /** Unlinks the file but keeps its inode (and contents) where a power loss can bring it back from. */
    private void bury(Inode inode) throws IOException {
        Path grave = graveyard.resolve("inode-" + inode.id);
        if (!inode.location.equals(grave)) {
            Files.move(inode.location, grave, StandardCopyOption.ATOMIC_MOVE);
            inode.location = grave;
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long position) throws IOException {
        long at = position;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, at);
            if (n < 0) {
                throw new IOException("file ended while saving its old bytes");
            }
            at += n;
        }
    }

    DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter) throws IOException {
        checkOn();
        DirectoryStream<Path> real = Files.newDirectoryStream(dir);
        List<Path> wrapped = new ArrayList<>();
        try (real) {
            for (Path p : real) {
                Path w = new PowerLossPath(this, p);
                if (filter.accept(w)) {
                    wrapped.add(w);
                }
            }
        }
        return new DirectoryStream<>() {
            @Override
            public java.util.Iterator<Path> iterator() {
                return wrapped.iterator();
            }

            @Override
            public void close() {}
        };
    }

    // ---------------------------------------------------------------- FileSystem

    @Override
    public PowerLossProvider provider() {
        return provider;
    }

    @Override
    public void close() {}

    @Override
    public boolean isOpen() {
        return true;
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    @Override
    public String getSeparator() {
        return FileSystems.getDefault().getSeparator();
    }

    @Override
    public Iterable<Path> getRootDirectories() {
        List<Path> roots = new ArrayList<>();
        FileSystems.getDefault().getRootDirectories().forEach(r -> roots.add(new PowerLossPath(this, r)));
        return roots;
    }

    @Override
    public Iterable<FileStore> getFileStores() {
        return FileSystems.getDefault().getFileStores();
    }

    @Override
    public Set<String> supportedFileAttributeViews() {
        return FileSystems.getDefault().supportedFileAttributeViews();
    }

    @Override
    public Path getPath(String first, String... more) {
        return new PowerLossPath(this, Path.of(first, more));
    }

    @Override
    public PathMatcher getPathMatcher(String syntaxAndPattern) {
        throw new UnsupportedOperationException();
    }

    @Override
    public UserPrincipalLookupService getUserPrincipalLookupService() {
        throw new UnsupportedOperationException();
    }

    @Override
    public WatchService newWatchService() {
        throw new UnsupportedOperationException();
    }
}
