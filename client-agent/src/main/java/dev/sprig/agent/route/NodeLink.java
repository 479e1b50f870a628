package dev.sprig.agent.route;

import dev.sprig.nbd.client.NbdChannel;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A connection to a node export and the requests sent on it, oldest first, so that a node that
 * stops answering (hung, stopped, or a network that drops everything) is found out: when the oldest
 * request still unanswered is older than the node timeout, the connection is closed, and every
 * request on it hears that it broke. Answers mostly come in order, so answered requests leave the
 * queue from its head as new ones join; one check per connection runs a few times per timeout.
 * Everything here runs on the connection's event loop.
 */
final class NodeLink {

    private static final Logger log = LoggerFactory.getLogger(NodeLink.class);

    private final NbdChannel channel;
    private final long timeoutNanos;
    private final ArrayDeque<Watched<?>> sent = new ArrayDeque<>();

    NodeLink(NbdChannel channel, long timeoutNanos) {
        this.channel = channel;
        this.timeoutNanos = timeoutNanos;
    }

    NbdChannel channel() {
        return channel;
    }

    boolean usable() {
        return channel.usable();
    }

    /** Watches {@code request} from now; send it on {@link #channel()} right after. */
    <T> Watched<T> watch(Watched<T> request) {
        dropAnswered();
        request.sentNanos = System.nanoTime();
        sent.add(request);
        return request;
    }

    /** Closes the connection if its oldest unanswered request is older than the node timeout. */
    void check() {
        dropAnswered();
        Watched<?> oldest = sent.peek();
        if (oldest != null && System.nanoTime() - oldest.sentNanos > timeoutNanos) {
            log.warn("{} did not answer within {} ms; closing the connection", channel, timeoutNanos / 1_000_000);
            sent.clear();
            channel.channel().close();
        }
    }

    private void dropAnswered() {
        while (!sent.isEmpty() && sent.peek().answered) {
            sent.poll();
        }
    }
}
