package dev.sprig.agent;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An HTTP/1.1 proxy in front of api-server that spoils the first request it carries, as a flaky
 * network or a restarting server would, and passes everything after it through. It records the
 * head of the first request on each connection, so a test can see what a retry carried.
 */
final class LossyProxy implements AutoCloseable {

    enum Spoil {
        /** api-server gets the request and answers; the answer is lost (the connection closes). */
        LOSE_THE_ANSWER,
        /** api-server never sees the request; the caller gets 503. */
        ANSWER_503
    }

    private final ServerSocket listener;
    private final int upstreamPort;
    private final Spoil spoil;
    private final List<String> heads = new CopyOnWriteArrayList<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    LossyProxy(int upstreamPort, Spoil spoil) throws IOException {
        this.listener = new ServerSocket(0);
        this.upstreamPort = upstreamPort;
        this.spoil = spoil;
        start(this::accept);
    }

    String uri() {
        return "http://127.0.0.1:" + listener.getLocalPort();
    }

    /** The head (request line and headers) of the first request on each connection, in order. */
    List<String> heads() {
        return List.copyOf(heads);
    }

    private static Thread start(Runnable work) {
        Thread thread = new Thread(work, "lossy-proxy");
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    private void accept() {
        boolean first = true;
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                sockets.add(client);
                boolean spoiled = first;
                first = false;
                start(() -> carry(client, spoiled));
            } catch (IOException closed) {
                return;
            }
        }
    }

    private void carry(Socket client, boolean spoiled) {
        try (client) {
            byte[] request = firstRequest(client.getInputStream());
            if (spoiled && spoil == Spoil.ANSWER_503) {
                client.getOutputStream()
                        .write("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                                .getBytes(StandardCharsets.US_ASCII));
                return;
            }
            try (Socket upstream = new Socket("127.0.0.1", upstreamPort)) {
                sockets.add(upstream);
                upstream.getOutputStream().write(request);
                if (spoiled) {
                    upstream.getInputStream().read(); // api-server has answered; the caller never hears it
                    return;
                }
                Thread back = start(() -> pipe(upstream, client));
                pipe(client, upstream);
                back.join();
            }
        } catch (IOException | InterruptedException ended) {
            // either side closed
        }
    }

    /** Reads one request (head and Content-Length body), records its head, returns its bytes. */
    private byte[] firstRequest(InputStream in) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        while (!bytes.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed before a request");
            }
            bytes.write(b);
        }
        String head = bytes.toString(StandardCharsets.ISO_8859_1);
        heads.add(head);
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                bytes.write(in.readNBytes(Integer.parseInt(line.substring(15).strip())));
            }
        }
        return bytes.toByteArray();
    }

    private static void pipe(Socket from, Socket to) {
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            in.transferTo(out);
            to.shutdownOutput();
        } catch (IOException closed) {
            // the other direction ends it
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket socket : sockets) {
            socket.close();
        }
    }
}
