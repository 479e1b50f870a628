package dev.sprig.engine.powerloss;

import java.io.IOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.spi.FileSystemProvider;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/**
 * The provider behind {@link PowerLossFileSystem}: what changes a file or the directory goes
 * through the file system's model; what only looks goes to the real file system.
 */
final class PowerLossProvider extends FileSystemProvider {

    private final PowerLossFileSystem fileSystem;

    PowerLossProvider(PowerLossFileSystem fileSystem) {
        this.fileSystem = fileSystem;
    }

    private Path real(Path path) {
        if (!(path instanceof PowerLossPath p) || p.getFileSystem() != fileSystem) {
            throw new ProviderMismatchException("not a path of this power-loss file system: " + path);
        }
        return p.real;
    }

    @Override
    public String getScheme() {
        return "power-loss";
    }

    @Override
    public FileSystem newFileSystem(URI uri, Map<String, ?> env) {
        throw new UnsupportedOperationException("use PowerLossFileSystem.boot");
    }

    @Override
    public FileSystem getFileSystem(URI uri) {
        throw new UnsupportedOperationException("use PowerLossFileSystem.boot");
    }

    @Override
    public Path getPath(URI uri) {
        throw new UnsupportedOperationException("a power-loss path has no URI");
    }

    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        return newFileChannel(path, options, attrs);
    }

    @Override
    public FileChannel newFileChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        return fileSystem.newFileChannel(real(path), options, attrs);
    }

    @Override
    public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter)
            throws IOException {
        return fileSystem.newDirectoryStream(real(dir), filter);
    }

    /** Directories are not modelled: one that exists is durable (see the file system's comment). */
    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
        fileSystem.checkOn();
        Path real = real(dir);
        if (Files.exists(real)) {
            throw new FileAlreadyExistsException(dir.toString());
        }
        throw new UnsupportedOperationException("the power-loss file system models one existing directory: " + dir);
    }

    @Override
    public void delete(Path path) throws IOException {
        fileSystem.delete(real(path));
    }

    @Override
    public void copy(Path source, Path target, CopyOption... options) {
        throw new UnsupportedOperationException("copy is not modelled by the power-loss file system");
    }

    @Override
    public void move(Path source, Path target, CopyOption... options) throws IOException {
        boolean replace = Arrays.asList(options).contains(StandardCopyOption.REPLACE_EXISTING);
        fileSystem.move(real(source), real(target), replace);
    }

    @Override
    public boolean isSameFile(Path path, Path path2) throws IOException {
        return Files.isSameFile(real(path), real(path2));
    }

    @Override
    public boolean isHidden(Path path) throws IOException {
        return Files.isHidden(real(path));
    }

    @Override
    public FileStore getFileStore(Path path) throws IOException {
        fileSystem.checkOn();
        return Files.getFileStore(real(path));
    }

    @Override
    public void checkAccess(Path path, AccessMode... modes) throws IOException {
        fileSystem.checkOn();
        Path real = real(path);
        real.getFileSystem().provider().checkAccess(real, modes);
    }

    @Override
    public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
        return Files.getFileAttributeView(real(path), type, options);
    }

    @Override
    public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options)
            throws IOException {
        fileSystem.checkOn();
        return Files.readAttributes(real(path), type, options);
    }

    @Override
    public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options) throws IOException {
        fileSystem.checkOn();
        return Files.readAttributes(real(path), attributes, options);
    }

    @Override
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options) {
        throw new UnsupportedOperationException("attributes are not modelled by the power-loss file system");
    }
}
