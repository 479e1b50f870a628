package dev.sprig.engine.powerloss;

import java.io.IOException;
import java.net.URI;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;

/**
 * A path of a {@link PowerLossFileSystem}: a real path of the default file system, wrapped so that
 * {@code Files} and {@code FileChannel.open} reach {@link PowerLossProvider}. {@link #toFile} is not
 * supported (the default throws), so code that leaves the NIO file API fails loudly instead of
 * writing past the model.
 */
final class PowerLossPath implements Path {

    private final PowerLossFileSystem fileSystem;
    final Path real;

    PowerLossPath(PowerLossFileSystem fileSystem, Path real) {
        this.fileSystem = fileSystem;
        this.real = real;
    }

    private PowerLossPath wrap(Path p) {
        return p == null ? null : new PowerLossPath(fileSystem, p);
    }

    private Path unwrap(Path other) {
        if (!(other instanceof PowerLossPath p) || p.fileSystem != fileSystem) {
            throw new ProviderMismatchException("not a path of this power-loss file system: " + other);
        }
        return p.real;
    }

    @Override
    public PowerLossFileSystem getFileSystem() {
        return fileSystem;
    }

    @Override
    public boolean isAbsolute() {
        return real.isAbsolute();
    }

    @Override
    public Path getRoot() {
        return wrap(real.getRoot());
    }

    @Override
    public Path getFileName() {
        return wrap(real.getFileName());
    }

    @Override
    public Path getParent() {
        return wrap(real.getParent());
    }

    @Override
    public int getNameCount() {
        return real.getNameCount();
    }

    @Override
    public Path getName(int index) {
        return wrap(real.getName(index));
    }

    @Override
    public Path subpath(int beginIndex, int endIndex) {
        return wrap(real.subpath(beginIndex, endIndex));
    }

    @Override
    public boolean startsWith(Path other) {
        return other instanceof PowerLossPath p && p.fileSystem == fileSystem && real.startsWith(p.real);
    }

    @Override
    public boolean endsWith(Path other) {
        return other instanceof PowerLossPath p && p.fileSystem == fileSystem && real.endsWith(p.real);
    }

    @Override
    public Path normalize() {
        return wrap(real.normalize());
    }

    @Override
    public Path resolve(Path other) {
        return wrap(real.resolve(unwrap(other)));
    }

    @Override
    public Path relativize(Path other) {
        return wrap(real.relativize(unwrap(other)));
    }

    @Override
    public URI toUri() {
        throw new UnsupportedOperationException("a power-loss path has no URI: " + real);
    }

    @Override
    public Path toAbsolutePath() {
        return wrap(real.toAbsolutePath());
    }

    @Override
    public Path toRealPath(LinkOption... options) throws IOException {
        return wrap(real.toRealPath(options));
    }

    @Override
    public WatchKey register(WatchService watcher, WatchEvent.Kind<?>[] events, WatchEvent.Modifier... modifiers) {
        throw new UnsupportedOperationException("no watch service in the power-loss file system");
    }

    @Override
    public int compareTo(Path other) {
        return real.compareTo(unwrap(other));
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof PowerLossPath p && p.fileSystem == fileSystem && real.equals(p.real);
    }

    @Override
    public int hashCode() {
        return real.hashCode();
    }

    @Override
    public String toString() {
        return real.toString();
    }
}
