package dev.sprig.node.engine;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * The checkpoint file: a full snapshot of every lc's lineage and PC metadata, taken when nothing is
 * pending (all data flushed), naming the journal generation that continues it. It is written to
 * {@code checkpoint.tmp}, fsynced, renamed over {@code checkpoint} and the directory fsynced, so a
 * crash leaves either the old or the new checkpoint, never a torn one.
 */
final class Checkpoint {

    static final String FILE = "checkpoint";
    private static final long MAGIC = 0x5350524947434b50L; // "SPRIGCKP"
    private static final int VERSION = 1;

    private Checkpoint() {}

    record Loaded(long journalGeneration, Map<Long, Lc> lcs) {}

    static void write(Path dir, long journalGeneration, Collection<Lc> lcs, Durability durability) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 16);
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeLong(MAGIC);
        out.writeInt(VERSION);
        out.writeLong(journalGeneration);
        out.writeInt(lcs.size());
        for (Lc lc : lcs) {
            Lc parent = lc.parent;
            out.writeLong(lc.id);
            out.writeBoolean(parent != null);
            out.writeLong(parent != null ? parent.id : 0);
            out.writeLong(lc.size);
            out.writeBoolean(lc.frozen);
            List<Map.Entry<Long, PcMeta>> pcs = new ArrayList<>(lc.pcs.entrySet());
            pcs.removeIf(e -> e.getValue().owned() == 0);
            out.writeInt(pcs.size());
            for (Map.Entry<Long, PcMeta> e : pcs) {
                PcMeta meta = e.getValue();
                out.writeLong(e.getKey());
                out.writeShort(meta.owned());
                out.writeShort(meta.zero());
                for (int s = 0; s < Layout.SEGMENTS_PER_PC; s++) {
                    if (meta.state(s) == PcMeta.DATA) {
                        for (int c : meta.crcs(s)) {
                            out.writeInt(c);
                        }
                    }
                }
            }
        }
        out.flush();
        CRC32C crc = new CRC32C();
        crc.update(bytes.toByteArray());
        out.writeInt((int) crc.getValue());
        out.flush();

        Path tmp = dir.resolve(FILE + ".tmp");
        try (FileChannel ch = FileChannel.open(
                tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(bytes.toByteArray());
            while (b.hasRemaining()) {
                ch.write(b);
            }
            durability.force(ch, true, "checkpoint");
        } catch (IOException e) {
            // a full disk: the old checkpoint stands, and the part written would only hold space
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        durability.forceDirectory(dir);
    }

    static Loaded read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return new Loaded(0, new HashMap<>());
        }
        byte[] all = Files.readAllBytes(file);
        if (all.length < 4) {
            throw new CorruptionException("checkpoint too short");
        }
        CRC32C crc = new CRC32C();
        crc.update(all, 0, all.length - 4);
        ByteBuffer b = ByteBuffer.wrap(all);
        if ((int) crc.getValue() != b.getInt(all.length - 4)) {
            throw new CorruptionException("checkpoint CRC mismatch");
        }
        b.limit(all.length - 4);
        try {
            if (b.getLong() != MAGIC || b.getInt() != VERSION) {
                throw new CorruptionException("not a checkpoint of this version");
            }
            long generation = b.getLong();
            int count = b.getInt();
            Map<Long, Lc> lcs = new HashMap<>();
            Map<Long, Long> parents = new HashMap<>();
            for (int i = 0; i < count; i++) {
                long id = b.getLong();
                boolean hasParent = b.get() != 0;
                long parentId = b.getLong();
                Lc lc = new Lc(id, dir, null, b.getLong(), b.get() != 0);
                if (hasParent) {
                    parents.put(id, parentId);
                }
                int pcCount = b.getInt();
                for (int p = 0; p < pcCount; p++) {
                    long pcIndex = b.getLong();
                    short owned = b.getShort();
                    short zero = b.getShort();
                    PcMeta meta = lc.pcForWrite(pcIndex);
                    for (int s = 0; s < Layout.SEGMENTS_PER_PC; s++) {
                        int bit = 1 << s;
                        if ((owned & bit) == 0) {
                            continue;
                        }
                        if ((zero & bit) != 0) {
                            meta.setZero(s);
                        } else {
                            int[] c = new int[Layout.BLOCKS_PER_SEGMENT];
                            for (int k = 0; k < c.length; k++) {
                                c[k] = b.getInt();
                            }
                            meta.setData(s, c);
                        }
                    }
                }
                lcs.put(id, lc);
            }
            for (Map.Entry<Long, Long> e : parents.entrySet()) {
                Lc parent = lcs.get(e.getValue());
                if (parent == null) {
                    throw new CorruptionException("checkpoint names missing parent " + e.getValue());
                }
                lcs.get(e.getKey()).parent = parent;
                parent.children++;
            }
            return new Loaded(generation, lcs);
        } catch (BufferUnderflowException e) {
            throw new CorruptionException("checkpoint truncated");
        }
    }
}
