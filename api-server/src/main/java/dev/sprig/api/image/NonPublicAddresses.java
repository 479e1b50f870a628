package dev.sprig.api.image;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Which addresses an http(s) source may not reach unless an operator lists them: every address that
 * is not on the public internet (loopback, link-local, private, shared CGNAT, unique-local,
 * unspecified, multicast, reserved), also when it hides inside an IPv6 address that carries an IPv4
 * one. Such an address is allowed only when its host name, the address, or a block holding it is
 * in {@code sprig.api.image-sources.allowed-private-hosts}.
 */
final class NonPublicAddresses {

    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    /** IPv4 blocks that Java's own predicates (loopback, site-local, ...) do not cover. */
    private static final List<Block> RESERVED_V4 = List.of(
            Block.parse("0.0.0.0/8"),
            Block.parse("100.64.0.0/10"),
            Block.parse("192.0.0.0/24"),
            Block.parse("198.18.0.0/15"),
            Block.parse("240.0.0.0/4"));

    private static final Block UNIQUE_LOCAL = Block.parse("fc00::/7");

    private final List<String> hostNames = new ArrayList<>();
    private final List<Block> allowedBlocks = new ArrayList<>();

    NonPublicAddresses(List<String> allowedPrivateHosts) {
        for (String entry : allowedPrivateHosts) {
            String host = entry.strip();
            if (host.isEmpty()) {
                continue;
            }
            if (isLiteral(host.contains("/") ? host.substring(0, host.indexOf('/')) : host)) {
                allowedBlocks.add(Block.parse(host));
            } else {
                hostNames.add(host.toLowerCase(Locale.ROOT));
            }
        }
    }

    /** Whether {@code host} resolving to {@code address} may be reached. */
    boolean allowed(String host, InetAddress address) {
        if (isPublic(address)) {
            return true;
        }
        if (hostNames.contains(host.toLowerCase(Locale.ROOT))) {
            return true;
        }
        return allowedBlocks.stream().anyMatch(block -> block.contains(address));
    }

    static boolean isPublic(InetAddress address) {
        if (address.isAnyLocalAddress()
                || address.isLoopbackAddress()
                || address.isLinkLocalAddress()
                || address.isSiteLocalAddress()
                || address.isMulticastAddress()) {
            return false;
        }
        byte[] bytes = address.getAddress();
        if (bytes.length == 4) {
            return RESERVED_V4.stream().noneMatch(block -> block.contains(address));
        }
        if (UNIQUE_LOCAL.contains(address)) {
            return false;
        }
        InetAddress embedded = embeddedV4(bytes);
        return embedded == null || isPublic(embedded);
    }

    /**
     * The IPv4 address an IPv6 one carries where it may be routed to it: IPv4-compatible
     * ({@code ::a.b.c.d}, the unspecified and loopback addresses included), NAT64
     * ({@code 64:ff9b::/96}) and 6to4 ({@code 2002::/16}). IPv4-mapped addresses Java already turns
     * into IPv4 ones.
     */
    private static @Nullable InetAddress embeddedV4(byte[] v6) {
        int at;
        if (allZero(v6, 0, 12)) {
            at = 12;
        } else if (v6[0] == 0
                && v6[1] == 0x64
                && (v6[2] & 0xff) == 0xff
                && (v6[3] & 0xff) == 0x9b
                && allZero(v6, 4, 12)) {
            at = 12;
        } else if (v6[0] == 0x20 && v6[1] == 0x02) {
            at = 2;
        } else {
            return null;
        }
        try {
            return InetAddress.getByAddress(new byte[] {v6[at], v6[at + 1], v6[at + 2], v6[at + 3]});
        } catch (UnknownHostException e) {
            throw new IllegalStateException("four bytes are an IPv4 address", e);
        }
    }

    private static boolean allZero(byte[] bytes, int from, int to) {
        for (int i = from; i < to; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return true;
    }

    /** An IP address written out, which resolves without asking DNS. */
    static boolean isLiteral(String host) {
        return host.contains(":") || IPV4.matcher(host).matches();
    }

    /** A CIDR block; a bare address is a block of one. */
    record Block(byte[] network, int prefix) {

        static Block parse(String cidr) {
            String address = cidr;
            int prefix = -1;
            int slash = cidr.indexOf('/');
            if (slash >= 0) {
                address = cidr.substring(0, slash);
                try {
                    prefix = Integer.parseInt(cidr.substring(slash + 1));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("not a CIDR block: " + cidr, e);
                }
            }
            if (!isLiteral(address)) {
                throw new IllegalArgumentException("not an IP address: " + cidr);
            }
            byte[] bytes;
            try {
                bytes = InetAddress.getByName(address).getAddress();
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("not an IP address: " + cidr, e);
            }
            if (prefix < 0) {
                prefix = bytes.length * 8;
            }
            if (prefix > bytes.length * 8) {
                throw new IllegalArgumentException("prefix longer than the address: " + cidr);
            }
            return new Block(bytes, prefix);
        }

        boolean contains(InetAddress address) {
            byte[] bytes = address.getAddress();
            if (bytes.length != network.length) {
                return false;
            }
            for (int bit = 0; bit < prefix; bit++) {
                int mask = 0x80 >>> (bit % 8);
                if ((bytes[bit / 8] & mask) != (network[bit / 8] & mask)) {
                    return false;
                }
            }
            return true;
        }
    }
}
