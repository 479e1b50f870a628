package dev.sprig.engine;

import java.io.IOException;
import java.nio.channels.FileChannel;

/**
 * The system call that makes a file durable. An interface only so that a test can make it fail: a
 * failing fsync cannot be provoked on a healthy disk, and it is the one thing those tests are about.
 */
@FunctionalInterface
interface Fsync {

    Fsync SYSTEM = FileChannel::force;

    void force(FileChannel channel, boolean metaData) throws IOException;
}
