package dev.sprig.api.image;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.error.SprigException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Component;

/**
 * Which sources an import may read: a URL must match one of
 * {@code sprig.api.image-sources.allowed-prefixes}, compared after parsing, not as text.
 *
 * <ul>
 *   <li>A {@code file:} prefix names a directory: a {@code file:} source must be a regular file
 *       whose real path (decoded, {@code ..} and symbolic links resolved) lies inside that
 *       directory's real path. A source that is missing, unreadable, not a regular file or outside
 *       gets one and the same answer, so that the refusal says nothing about files elsewhere.
 *   <li>An {@code http:}/{@code https:} prefix is a scheme alone ({@code https:}), or a scheme, host
 *       and port with a path the source's decoded path must start with. A source with user
 *       information, or with {@code .} or {@code ..} segments (in any spelling), is refused. Its
 *       host must resolve to public addresses only, unless it is listed in
 *       {@code allowed-private-hosts} ({@link NonPublicAddresses}); every redirect is checked the
 *       same way ({@link SourceFetcher}).
 * </ul>
 *
 * <p>What is left (DNS rebinding): the JDK's HTTP client resolves a host itself and cannot be told
 * which address to connect to. The check resolves the host right before each request and refuses it
 * if any of its addresses may not be reached; the client's own lookup is then answered from the
 * JVM's address cache ({@code networkaddress.cache.ttl}, 30 s by default), so it connects to an
 * address that was checked. A host whose record changes between the two lookups could still be
 * reached if that cache is disabled ({@code networkaddress.cache.ttl=0}) or expires in between, and
 * a proxy configured for the JVM resolves names itself. Sources on networks that must never be
 * reached should also be blocked by the firewall of api-server's host.
 */
@Component
class SourcePolicy {

    private static final Pattern SCHEME_ONLY = Pattern.compile("[A-Za-z][A-Za-z0-9+.-]*:");

    private final List<String> prefixes;
    private final List<Path> directories = new ArrayList<>();
    private final List<HttpPrefix> httpPrefixes = new ArrayList<>();
    private final NonPublicAddresses addresses;

    SourcePolicy(SprigApiProperties properties) {
        this.prefixes = List.copyOf(properties.imageSources().allowedPrefixes());
        for (String prefix : prefixes) {
            if (prefix.regionMatches(true, 0, "file:", 0, 5)) {
                directories.add(directoryOf(prefix));
            } else {
                httpPrefixes.add(HttpPrefix.parse(prefix));
            }
        }
        this.addresses = new NonPublicAddresses(properties.imageSources().allowedPrivateHosts());
    }

    /** A source's URL as a client registers it: refused with 400 unless an import may read it. */
    void checkRegistration(String url) {
        URI uri = parse(url)
                .orElseThrow(() -> SprigException.invalidArgument("source url " + url
                        + " is not a URL with one of the allowed prefixes " + prefixes + " (" + PREFIXES + ")"));
        if ("file".equalsIgnoreCase(uri.getScheme())) {
            if (localFile(uri).isEmpty()) {
                throw SprigException.invalidArgument(noFile(url));
            }
            return;
        }
        String refusal = httpRefusal(uri);
        if (refusal != null) {
            throw SprigException.invalidArgument(refusal);
        }
        try {
            String host = host(uri);
            for (InetAddress address : InetAddress.getAllByName(host)) {
                if (!addresses.allowed(host, address)) {
                    throw SprigException.invalidArgument(nonPublic(url));
                }
            }
        } catch (UnknownHostException e) {
            // the import says so; a name may be registered in DNS before its server is
        }
    }

    /** The real path of a {@code file:} source, checked again as the import opens it. */
    Path file(String url) {
        return parse(url).flatMap(this::localFile).orElseThrow(() -> new ImportFailure(noFile(url)));
    }

    /**
     * Checks one URL a download asks (the source, or a redirect's target): allowed by a prefix, and
     * its host resolving to addresses it may reach.
     *
     * @throws ImportFailure saying the source was refused, and why in terms of the rules alone
     */
    void checkHop(URI uri) {
        String refusal = "http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme())
                ? httpRefusal(uri)
                : "the source was refused: " + uri + " is not an http(s) URL";
        if (refusal != null) {
            throw new ImportFailure(refusal.replace("source url", "the source was refused:"));
        }
        String host = host(uri);
        InetAddress[] resolved;
        try {
            // the JDK client's own lookup right after this one is answered from the same cache
            // (networkaddress.cache.ttl), so it connects to an address checked here
            resolved = InetAddress.getAllByName(host);
        } catch (UnknownHostException e) {
            throw new ImportFailure("the source failed: its host " + host + " does not resolve", e);
        }
        for (InetAddress address : resolved) {
            if (!addresses.allowed(host, address)) {
                throw new ImportFailure("the source was refused: " + nonPublic(uri.toString()));
            }
        }
    }

    private static final String PREFIXES = "sprig.api.image-sources.allowed-prefixes";

    private String noFile(String url) {
        return "source url " + url + " names no readable regular file inside the allowed directories " + directories
                + " (" + PREFIXES + ")";
    }

    private static String nonPublic(String url) {
        return "source url " + url + " resolves to a loopback, link-local, private or otherwise non-public"
                + " address; list its host in sprig.api.image-sources.allowed-private-hosts to allow it";
    }

    private static Optional<URI> parse(String url) {
        try {
            URI uri = new URI(url);
            return uri.isAbsolute() ? Optional.of(uri) : Optional.empty();
        } catch (URISyntaxException e) {
            return Optional.empty();
        }
    }

    /**
     * The file's real path if it is a readable regular file inside an allowed directory; empty
     * otherwise, for every reason alike.
     */
    private Optional<Path> localFile(URI uri) {
        if (uri.isOpaque()
                || uri.getRawAuthority() != null
                || uri.getRawQuery() != null
                || uri.getRawFragment() != null
                || uri.getPath() == null) {
            return Optional.empty();
        }
        try {
            Path named = Path.of(uri.getPath());
            if (!named.isAbsolute()) {
                return Optional.empty();
            }
            // the lexical check first, so that a path outside is refused without looking at it
            Path normal = named.normalize();
            if (directories.stream().noneMatch(normal::startsWith)) {
                return Optional.empty();
            }
            Path real = named.toRealPath();
            for (Path directory : directories) {
                Path realDirectory;
                try {
                    realDirectory = directory.toRealPath();
                } catch (IOException e) {
                    continue;
                }
                if (real.startsWith(realDirectory)
                        && Files.isRegularFile(real, LinkOption.NOFOLLOW_LINKS)
                        && Files.isReadable(real)) {
                    return Optional.of(real);
                }
            }
            return Optional.empty();
        } catch (IOException | InvalidPathException | SecurityException e) {
            return Optional.empty();
        }
    }

    /** Why an http(s) URL is refused by the prefixes, or null when one allows it. */
    private @Nullable String httpRefusal(URI uri) {
        String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            return "source url " + uri + " has scheme " + scheme + "; sources are file:, http: or https: URLs"
                    + " with one of the allowed prefixes " + prefixes + " (" + PREFIXES + ")";
        }
        if (uri.isOpaque() || uri.getHost() == null) {
            return "source url " + uri + " names no host";
        }
        if (uri.getRawUserInfo() != null) {
            return "source url " + uri + " carries user information, which sources may not";
        }
        String path = uri.getPath() == null ? "" : uri.getPath();
        for (String segment : path.split("/", -1)) {
            if (segment.equals(".") || segment.equals("..")) {
                return "source url " + uri + " has a . or .. path segment";
            }
        }
        if (httpPrefixes.stream().noneMatch(prefix -> prefix.allows(scheme, host(uri), port(uri), path))) {
            return "source url " + uri + " matches none of the allowed prefixes " + prefixes + " (" + PREFIXES + ")";
        }
        return null;
    }

    private static String host(URI uri) {
        String host = uri.getHost();
        // an IPv6 literal comes in brackets
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    private static int port(URI uri) {
        if (uri.getPort() >= 0) {
            return uri.getPort();
        }
        return "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }

    /** A {@code file:} prefix's directory; {@code file:} alone is the whole file system. */
    private static Path directoryOf(String prefix) {
        if (SCHEME_ONLY.matcher(prefix).matches()) {
            return Path.of("/");
        }
        try {
            URI uri = new URI(prefix);
            if (uri.getPath() == null || uri.getRawAuthority() != null) {
                throw new IllegalArgumentException(
                        PREFIXES + ": " + prefix + " is not a file: URL of a directory (file:/srv/images/)");
            }
            return Path.of(uri.getPath()).normalize();
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(PREFIXES + ": " + prefix + " is not a URL", e);
        }
    }

    /** An http(s) prefix: a scheme alone, or a scheme, host, port and path. */
    private record HttpPrefix(String scheme, @Nullable String host, int port, String path) {

        static HttpPrefix parse(String prefix) {
            if (SCHEME_ONLY.matcher(prefix).matches()) {
                return new HttpPrefix(prefix.substring(0, prefix.length() - 1).toLowerCase(Locale.ROOT), null, -1, "");
            }
            try {
                URI uri = new URI(prefix);
                if (uri.getScheme() == null || uri.getHost() == null || uri.getRawUserInfo() != null) {
                    throw new IllegalArgumentException(PREFIXES + ": " + prefix
                            + " is neither a scheme (https:) nor a URL with a host (https://images.example.com/)");
                }
                return new HttpPrefix(
                        uri.getScheme().toLowerCase(Locale.ROOT),
                        SourcePolicy.host(uri).toLowerCase(Locale.ROOT),
                        SourcePolicy.port(uri),
                        uri.getPath() == null ? "" : uri.getPath());
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException(PREFIXES + ": " + prefix + " is not a URL", e);
            }
        }

        boolean allows(String scheme, String host, int port, String path) {
            if (!this.scheme.equals(scheme)) {
                return false;
            }
            if (this.host == null) {
                return true;
            }
            return this.host.equalsIgnoreCase(host) && this.port == port && path.startsWith(this.path);
        }
    }
}
