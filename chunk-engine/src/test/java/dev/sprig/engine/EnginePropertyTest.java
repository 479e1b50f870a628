package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.statistics.Statistics;

/**
 * Random sequences of lineage and data operations give the same bytes as the reference model: any
 * offset and length, across segment and PC boundaries, through chains up to depth 64, across
 * flatten, delete and reopen.
 */
class EnginePropertyTest {

    private static final long PC = Layout.PC_SIZE;
    private static final int SEG = Layout.SEGMENT_SIZE;

    enum Kind {
        CREATE,
        CLONE,
        SNAPSHOT,
        WRITE,
        WRITE_ZEROES,
        READ,
        FLATTEN,
        DELETE,
        GROW,
        FLUSH,
        REOPEN
    }

    record Op(Kind kind, int a, int b, int c, long seed) {}

    @Provide
    Arbitrary<List<Op>> operations() {
        Arbitrary<Op> op = Combinators.combine(
                        Arbitraries.frequency(
                                Tuple.of(2, Kind.CREATE),
                                Tuple.of(2, Kind.CLONE),
                                Tuple.of(3, Kind.SNAPSHOT),
                                Tuple.of(8, Kind.WRITE),
                                Tuple.of(3, Kind.WRITE_ZEROES),
                                Tuple.of(5, Kind.READ),
                                Tuple.of(1, Kind.FLATTEN),
                                Tuple.of(2, Kind.DELETE),
                                Tuple.of(1, Kind.GROW),
                                Tuple.of(1, Kind.FLUSH),
                                Tuple.of(1, Kind.REOPEN)),
                        Arbitraries.integers().greaterOrEqual(0),
                        Arbitraries.integers().greaterOrEqual(0),
                        Arbitraries.integers().greaterOrEqual(0),
                        Arbitraries.longs())
                .as(Op::new);
        return op.list().ofMinSize(5).ofMaxSize(60);
    }

    @Property(tries = 150)
    void randomOperationsMatchTheReferenceModel(@ForAll("operations") List<Op> ops) throws IOException {
        Path dir = Files.createTempDirectory("engine-prop");
        try {
            Harness h = new Harness(dir);
            try {
                h.apply(new Op(Kind.CREATE, 0, ops.size() * 7919, 0, 0));
                for (Op op : ops) {
                    h.apply(op);
                }
                Statistics.label("lcs").collect(Math.min(h.nextId - 1, 10));
                h.checkEverything();
            } finally {
                h.engine.close();
            }
        } finally {
            deleteTree(dir);
        }
    }

    @Property(tries = 4)
    void readsThroughAChainOfDepth64MatchTheReferenceModel(
            @ForAll @IntRange(min = 48, max = 64) int depth, @ForAll @Size(min = 64, max = 64) List<Long> seeds)
            throws IOException {
        Path dir = Files.createTempDirectory("engine-deep");
        try {
            Harness h = new Harness(dir);
            try {
                h.apply(new Op(Kind.CREATE, 1, 123_457, 0, 0));
                for (int level = 0; level < depth; level++) {
                    long seed = seeds.get(level);
                    Random r = new Random(seed);
                    h.apply(new Op(Kind.WRITE, r.nextInt(1 << 30), r.nextInt(1 << 30), r.nextInt(1 << 30), seed));
                    h.apply(new Op(Kind.WRITE_ZEROES, r.nextInt(1 << 30), r.nextInt(1 << 30), r.nextInt(4), seed));
                    h.apply(new Op(Kind.SNAPSHOT, 0, 0, 0, seed));
                    if (level == depth / 2) {
                        h.apply(new Op(Kind.REOPEN, 0, 0, 0, seed));
                    }
                }
                Random r = new Random(seeds.get(0));
                for (int i = 0; i < 100; i++) {
                    h.apply(new Op(Kind.READ, r.nextInt(1 << 30), r.nextInt(1 << 30), r.nextInt(1 << 30), 0));
                }
                h.apply(new Op(Kind.FLATTEN, 0, 0, 0, 0));
                h.checkEverything();
            } finally {
                h.engine.close();
            }
        } finally {
            deleteTree(dir);
        }
    }

    /** Drives the engine and the model side by side; every outcome must agree. */
    static final class Harness {
        final Path dir;
        final ReferenceModel model = new ReferenceModel();
        ChunkEngine engine;
        long nextId = 1;
        long lastWritable = -1;

        Harness(Path dir) {
            this.dir = dir;
            this.engine = ChunkEngine.open(dir);
        }

        void apply(Op op) {
            switch (op.kind()) {
                case CREATE -> {
                    long size = PC * (1 + op.a() % 2) + op.b() % 300_000;
                    long id = nextId++;
                    engine.create(id, size);
                    model.create(id, size);
                    lastWritable = id;
                }
                case CLONE -> {
                    Long parent = pick(model.ids(d -> d.frozen), op.a());
                    if (parent == null) {
                        return;
                    }
                    long size = model.disks.get(parent).size + (op.b() % 3 == 0 ? op.c() % 500_000 : 0);
                    long id = nextId++;
                    engine.createChild(id, parent, size);
                    model.createChild(id, parent, size);
                    lastWritable = id;
                }
                case SNAPSHOT -> {
                    Long disk = writable(op.a());
                    if (disk == null) {
                        return;
                    }
                    engine.freeze(disk);
                    model.freeze(disk);
                    long id = nextId++;
                    engine.createChild(id, disk);
                    model.createChild(id, disk, model.disks.get(disk).size);
                    lastWritable = id;
                }
                case WRITE, WRITE_ZEROES -> {
                    Long disk = writable(op.a());
                    if (disk == null) {
                        return;
                    }
                    long size = model.disks.get(disk).size;
                    long offset = offset(size, op.b(), op.c());
                    int length = length(size - offset, op.c(), op.seed());
                    if (op.kind() == Kind.WRITE) {
                        byte[] data = new byte[length];
                        new Random(op.seed()).nextBytes(data);
                        engine.write(disk, offset, data);
                        model.write(disk, offset, data);
                    } else {
                        engine.writeZeroes(disk, offset, length);
                        model.write(disk, offset, new byte[length]);
                    }
                }
                case READ -> {
                    Long disk = pick(model.ids(d -> true), op.a());
                    if (disk == null) {
                        return;
                    }
                    long size = model.disks.get(disk).size;
                    long offset = offset(size, op.b(), op.c());
                    int length = length(size - offset, op.c(), op.seed());
                    assertSameBytes(
                            engine.read(disk, offset, length),
                            model.read(disk, offset, length),
                            "lc " + disk + " [" + offset + ", +" + length + ")");
                }
                case FLATTEN -> {
                    Long disk = writable(op.a());
                    if (disk == null) {
                        return;
                    }
                    engine.flatten(disk, FlattenProgress.none());
                    model.flatten(disk);
                    assertThat(engine.info(disk).parentLcId()).isEmpty();
                }
                case DELETE -> {
                    Long disk = pick(model.ids(d -> true), op.a());
                    if (disk == null) {
                        return;
                    }
                    if (model.disks.get(disk).children > 0) {
                        assertThatThrownBy(() -> engine.delete(disk)).isInstanceOf(LcHasChildrenException.class);
                    } else {
                        engine.delete(disk);
                        model.delete(disk);
                    }
                }
                case GROW -> {
                    Long disk = writable(op.a());
                    if (disk == null) {
                        return;
                    }
                    long size = model.disks.get(disk).size + op.b() % 400_000;
                    engine.grow(disk, size);
                    model.disks.get(disk).size = size;
                }
                case FLUSH -> engine.flushAll();
                case REOPEN -> {
                    engine.flushAll();
                    if (op.a() % 2 == 0) {
                        engine.close();
                    } else {
                        engine.checkpoint();
                        engine.close();
                    }
                    engine = ChunkEngine.open(dir);
                    checkEverything();
                }
            }
        }

        void checkEverything() {
            assertThat(engine.list()).extracting(LcInfo::lcId).containsExactlyElementsOf(model.ids(d -> true));
            for (long id : model.ids(d -> true)) {
                ReferenceModel.Disk d = model.disks.get(id);
                LcInfo info = engine.info(id);
                assertThat(info.sizeBytes()).isEqualTo(d.size);
                assertThat(info.frozen()).isEqualTo(d.frozen);
                assertThat(info.children()).isEqualTo(d.children);
                assertSameBytes(engine.read(id, 0, (int) d.size), model.read(id, 0, (int) d.size), "whole lc " + id);
            }
            assertThat(engine.scrub().damaged()).isEmpty();
        }

        private Long writable(int pick) {
            List<Long> ids = model.ids(d -> !d.frozen);
            if (ids.contains(lastWritable) && pick % 3 != 0) {
                return lastWritable;
            }
            return pick(ids, pick);
        }

        private static Long pick(List<Long> ids, int pick) {
            return ids.isEmpty() ? null : ids.get(pick % ids.size());
        }

        /** Uniform, or close to a PC or segment boundary, or segment-aligned. */
        private static long offset(long size, int b, int c) {
            long offset = switch (c % 4) {
                case 0 -> (long) (b % Math.max(1, size));
                case 1 -> (b % Math.max(1, size / PC + 1)) * PC - 200_000 + b % 400_000;
                case 2 -> (b % Math.max(1, size / SEG + 1)) * (long) SEG - 5_000 + b % 10_000;
                default -> (b % Math.max(1, size / SEG + 1)) * (long) SEG;
            };
            return Math.max(0, Math.min(offset, size));
        }

        private static int length(long room, int c, long seed) {
            int wanted = switch ((c / 4) % 4) {
                case 0 -> 1 + (int) Math.floorMod(seed, 5_000);
                case 1 -> (int) Math.floorMod(seed, 700_000);
                case 2 -> SEG;
                default -> (int) Math.floorMod(seed, 5 * SEG);
            };
            return (int) Math.min(wanted, room);
        }
    }

    /** Byte arrays are too long to print; name the first differing offset instead. */
    static void assertSameBytes(byte[] actual, byte[] expected, String what) {
        assertThat(actual.length).as("length of %s", what).isEqualTo(expected.length);
        assertThat(Arrays.mismatch(actual, expected))
                .as("first differing byte of %s", what)
                .isEqualTo(-1);
    }

    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
