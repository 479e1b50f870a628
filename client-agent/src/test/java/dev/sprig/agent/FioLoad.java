package dev.sprig.agent;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * fio jobs run back to back against one NBD export until stopped, so that a test can kill or drain
 * nodes under a client that keeps writing: job {@code i} writes region {@code i % regions} (random
 * 16 KiB writes, most of them into part of a 256 KiB segment) with its own seed and then reads it
 * back verified (crc32c). Each job's start, end and outcome are recorded; {@link #verifyLastWrites}
 * reads every region once more against what its last job wrote.
 */
final class FioLoad implements AutoCloseable {

    /** One finished fio run and what it printed. */
    record Job(int index, int region, Instant started, Instant ended, int exitCode, String output) {

        boolean passed() {
            return exitCode == 0 && output.contains("err= 0") && !output.contains("verify:");
        }

        /** Whether the job was writing or verifying at some time in {@code [from, to]}. */
        boolean overlaps(Instant from, Instant to) {
            return started.isBefore(to) && ended.isAfter(from);
        }
    }

    private final String uri;
    private final int regions;
    private final long regionBytes;
    private final List<Job> jobs = new CopyOnWriteArrayList<>();
    private final Thread runner;
    private volatile boolean stopping;

    private FioLoad(String uri, int regions, long regionBytes) {
        this.uri = uri;
        this.regions = regions;
        this.regionBytes = regionBytes;
        this.runner = new Thread(this::run, "fio-load");
    }

    /** Starts writing {@code regions} regions of {@code regionBytes} each of the export at {@code uri}. */
    static FioLoad start(String uri, int regions, long regionBytes) {
        FioLoad load = new FioLoad(uri, regions, regionBytes);
        load.runner.start();
        return load;
    }

    private void run() {
        for (int index = 0; !stopping; index++) {
            int region = index % regions;
            Instant started = Instant.now();
            try {
                Tools.Result result = Tools.run(command(index, region, false));
                jobs.add(new Job(index, region, started, Instant.now(), result.exitCode(), result.output()));
            } catch (IOException | InterruptedException | AssertionError failed) {
                jobs.add(new Job(index, region, started, Instant.now(), -1, String.valueOf(failed)));
                return;
            }
        }
    }

    private String[] command(int index, int region, boolean verifyOnly) {
        return new String[] {
            "fio",
            "--name=load-" + index,
            "--ioengine=nbd",
            "--uri=" + uri,
            "--rw=randwrite",
            "--bs=16k",
            "--offset=" + region * regionBytes,
            "--size=" + regionBytes,
            "--iodepth=4",
            "--rate=8m",
            "--randseed=" + (1000 + index),
            "--verify=crc32c",
            verifyOnly ? "--verify_only" : "--do_verify=1"
        };
    }

    List<Job> jobs() {
        return List.copyOf(jobs);
    }

    /**
     * Waits until a job that started at or after {@code since} has finished, so that the client has
     * written (and read back) after that moment.
     */
    void awaitJobStartedAfter(Instant since, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (jobs.stream().noneMatch(job -> !job.started().isBefore(since))) {
            if (!runner.isAlive()) {
                throw new AssertionError("fio stopped running: " + jobs.get(jobs.size() - 1));
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no fio job started after " + since + " finished within " + within);
            }
            Thread.sleep(100);
        }
    }

    /** Stops after the running job and waits for it; the jobs run. */
    List<Job> stop() throws InterruptedException {
        stopping = true;
        runner.join(150_000);
        if (runner.isAlive()) {
            throw new AssertionError("the last fio job did not finish");
        }
        return jobs();
    }

    /** The jobs that did not pass: an I/O error, a verify mismatch, or fio failing to run. */
    List<Job> failed() {
        return jobs.stream().filter(job -> !job.passed()).toList();
    }

    /**
     * Reads every region written once more through {@code uri}, checked against what its last job
     * wrote ({@code --verify_only} with that job's seed); the runs that failed, with their output.
     */
    List<String> verifyLastWrites() throws IOException, InterruptedException {
        Map<Integer, Job> last = new TreeMap<>();
        jobs.forEach(job -> last.put(job.region(), job));
        List<String> failures = new ArrayList<>();
        for (Job job : last.values()) {
            Tools.Result result = Tools.run(command(job.index(), job.region(), true));
            if (result.exitCode() != 0 || !result.output().contains("err= 0")) {
                failures.add("region " + job.region() + " (job " + job.index() + "): " + result.output());
            }
        }
        return failures;
    }

    @Override
    public void close() throws InterruptedException {
        if (runner.isAlive()) {
            stop();
        }
    }
}
