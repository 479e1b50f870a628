package dev.sprig.nbd.server;

import java.time.Duration;

/** What an {@link NbdServer} holds for its clients, watched until it stops changing. */
public final class ServerBuffers {

    private ServerBuffers() {}

    /**
     * Waits until {@link NbdServer#bufferedBytes()} has not changed for a second (the server has
     * stopped reading a client that reads no replies), and returns the most it held on the way.
     */
    public static long mostHeldUntilSettled(NbdServer server) throws InterruptedException {
        long most = 0;
        long last = -1;
        long stableSince = System.nanoTime();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            long held = server.bufferedBytes();
            most = Math.max(most, held);
            if (held != last) {
                last = held;
                stableSince = System.nanoTime();
            } else if (System.nanoTime() - stableSince > Duration.ofSeconds(1).toNanos()) {
                return most;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("the server kept changing what it holds for a minute: " + last);
    }
}
