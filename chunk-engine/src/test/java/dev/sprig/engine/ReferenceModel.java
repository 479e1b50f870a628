package dev.sprig.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The engine's contract with nothing in the way: each lc is a plain array of bytes (kept as shared
 * copy-on-write 256 KiB pieces so that deep chains stay small). A clone copies its parent's bytes.
 */
final class ReferenceModel {

    static final int SEG = 256 * 1024;

    static final class Disk {
        long size;
        boolean frozen;
        Long parent;
        int children;
        final Map<Long, byte[]> segments;

        Disk(long size, Long parent, Map<Long, byte[]> segments) {
            this.size = size;
            this.parent = parent;
            this.segments = segments;
        }
    }

    final Map<Long, Disk> disks = new HashMap<>();

    void create(long id, long size) {
        disks.put(id, new Disk(size, null, new HashMap<>()));
    }

    void createChild(long id, long parentId, long size) {
        Disk parent = disks.get(parentId);
        parent.children++;
        disks.put(id, new Disk(size, parentId, new HashMap<>(parent.segments)));
    }

    void freeze(long id) {
        disks.get(id).frozen = true;
    }

    void delete(long id) {
        Disk d = disks.remove(id);
        if (d.parent != null) {
            disks.get(d.parent).children--;
        }
    }

    void flatten(long id) {
        Disk d = disks.get(id);
        if (d.parent != null) {
            disks.get(d.parent).children--;
            d.parent = null;
        }
    }

    void write(long id, long offset, byte[] bytes) {
        Disk d = disks.get(id);
        long pos = offset;
        int done = 0;
        while (done < bytes.length) {
            long seg = pos / SEG;
            int in = (int) (pos % SEG);
            int n = Math.min(bytes.length - done, SEG - in);
            byte[] old = d.segments.get(seg);
            byte[] copy = old == null ? new byte[SEG] : old.clone();
            System.arraycopy(bytes, done, copy, in, n);
            d.segments.put(seg, copy);
            done += n;
            pos += n;
        }
    }

    byte[] read(long id, long offset, int length) {
        Disk d = disks.get(id);
        byte[] out = new byte[length];
        long pos = offset;
        int done = 0;
        while (done < length) {
            long seg = pos / SEG;
            int in = (int) (pos % SEG);
            int n = Math.min(length - done, SEG - in);
            byte[] data = d.segments.get(seg);
            if (data != null) {
                System.arraycopy(data, in, out, done, n);
            }
            done += n;
            pos += n;
        }
        return out;
    }

    List<Long> ids(java.util.function.Predicate<Disk> filter) {
        List<Long> ids = new ArrayList<>();
        disks.forEach((id, d) -> {
            if (filter.test(d)) {
                ids.add(id);
            }
        });
        ids.sort(Long::compare);
        return ids;
    }
}
