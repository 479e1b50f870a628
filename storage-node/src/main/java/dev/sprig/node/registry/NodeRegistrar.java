package dev.sprig.node.registry;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.node.access.NodeToken;
import dev.sprig.nodeapi.RegisterNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.http.converter.json.JacksonJsonHttpMessageConverter;
import org.springframework.web.client.ResourceAccessException;
import org.springframework.web.client.RestClient;
import tools.jackson.databind.json.JsonMapper;

/**
 * Registers this node with api-server and keeps it registered: {@code PUT /v1/nodes/{nodeId}} with
 * the credential issued for this node id (it hands api-server the node token, which api-server alone
 * holds), right after the node is ready (it accepts traffic) and again every heartbeat.
 * The PUT is idempotent, so the heartbeat is the registration repeated, with fresh capacity figures.
 *
 * <p>A failed PUT (refused, 2 s timeout, an answer other than 2xx) is logged once per outage and
 * retried at the next beat; the node keeps serving whatever api-server does. The beats run on one
 * daemon thread and stop when the context starts closing, before the web server drains, so that a
 * node on its way down stops announcing itself first.
 */
public final class NodeRegistrar implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(NodeRegistrar.class);

    /** The connect timeout and the whole-request timeout of one registration. */
    static final Duration TIMEOUT = Duration.ofSeconds(2);

    /** A node id is one path segment of api-server's URL, so it needs no escaping. */
    private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

    private final RegistryProperties properties;
    private final String nodeId;
    private final URI target;
    private final String authorization;
    private final NodeToken token;
    private final ChunkEngine engine;
    private final NbdServer nbd;
    private final Path dataDir;
    private final RestClient http;
    private final ScheduledExecutorService beats;

    private final AtomicBoolean started = new AtomicBoolean();

    // Touched only by the beat thread.
    private boolean registered;
    private boolean failing;

    /**
     * Checks the settings at once, so that a node told to register without the means to fails at
     * start-up rather than warning every few seconds.
     */
    public NodeRegistrar(
            RegistryProperties properties,
            NodeToken token,
            ChunkEngine engine,
            NbdServer nbd,
            Path dataDir,
            JsonMapper json) {
        URI url = properties.url();
        if (url == null
                || url.getHost() == null
                || !("http".equals(url.getScheme()) || "https".equals(url.getScheme()))) {
            throw new IllegalStateException("sprig.node.registry.url must be api-server's http(s) URL, such as"
                    + " http://api-server:8080; it is '" + url + "'. Unset it to run without registration");
        }
        if (properties.adminKey() != null) {
            throw new IllegalStateException("sprig.node.registry.admin-key is no longer used: a node registers with"
                    + " a credential issued for its id (POST /v1/nodes/{id}:issueCredential with an admin key), set as"
                    + " sprig.node.registry.credential (environment: SPRIG_NODE_REGISTRY_CREDENTIAL). Remove"
                    + " admin-key: an admin key must not live on storage nodes");
        }
        String credential = properties.credential();
        if (credential == null || credential.isBlank()) {
            throw new IllegalStateException("sprig.node.registry.url is set but sprig.node.registry.credential is not:"
                    + " api-server accepts a node's registration only with the credential issued for its id"
                    + " (POST /v1/nodes/{id}:issueCredential with an admin key; environment:"
                    + " SPRIG_NODE_REGISTRY_CREDENTIAL)");
        }
        if (properties.heartbeat().isNegative() || properties.heartbeat().isZero()) {
            throw new IllegalStateException(
                    "sprig.node.registry.heartbeat must be positive; it is " + properties.heartbeat());
        }
        String id = properties.nodeId() != null ? properties.nodeId() : hostName();
        if (!NODE_ID.matcher(id).matches()) {
            throw new IllegalStateException("sprig.node.registry.node-id must be 1 to 63 letters, digits, '.', '_'"
                    + " or '-', starting with a letter or digit; it is '" + id + "'");
        }
        String base = url.toString().replaceAll("/+$", "");
        this.properties = properties;
        this.nodeId = id;
        this.target = URI.create(base + "/v1/nodes/" + id);
        this.authorization = "Bearer " + credential.strip();
        this.token = token;
        this.engine = engine;
        this.nbd = nbd;
        this.dataDir = dataDir;
        var requests = new JdkClientHttpRequestFactory(HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(TIMEOUT)
                .build());
        requests.setReadTimeout(TIMEOUT);
        this.http = RestClient.builder()
                .requestFactory(requests)
                .configureMessageConverters(converters ->
                        converters.registerDefaults().withJsonConverter(new JacksonJsonHttpMessageConverter(json)))
                .build();
        this.beats = Executors.newSingleThreadScheduledExecutor(beat -> {
            var thread = new Thread(beat, "node-registrar");
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * Starts the beats once the node is ready: when it first accepts traffic, which Boot announces right
     * after {@code ApplicationReadyEvent}, so that api-server finds it ready (its HTTP port listens and
     * its readiness probe answers 200) from the first registration on.
     */
    @EventListener
    public void onReadiness(AvailabilityChangeEvent<ReadinessState> change) {
        if (change.getState() != ReadinessState.ACCEPTING_TRAFFIC
                || !(change.getSource() instanceof WebServerApplicationContext node)
                || !started.compareAndSet(false, true)) {
            return;
        }
        int httpPort = node.getWebServer().getPort();
        URI http = properties.advertisedHttpEndpoint();
        String nbdHost = properties.advertisedNbdHost();
        var endpoints = new Endpoints(
                http != null ? http.toString() : "http://" + hostName() + ":" + httpPort,
                nbdHost != null ? nbdHost : hostName());
        log.info(
                "Registering node {} with {} every {} (HTTP {}, NBD {}:{})",
                nodeId,
                target,
                every(),
                endpoints.http(),
                endpoints.nbdHost(),
                nbd.port());
        beats.scheduleWithFixedDelay(
                () -> beat(endpoints), 0, properties.heartbeat().toMillis(), TimeUnit.MILLISECONDS);
    }

    @EventListener
    public void onClosing(ContextClosedEvent closing) {
        close();
    }

    /** Stops the beats; a PUT in flight is abandoned. */
    @Override
    public void close() {
        beats.shutdownNow();
        try {
            beats.awaitTermination(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void beat(Endpoints endpoints) {
        String failure;
        try {
            // exchange, not retrieve: any answer but a 2xx is a failed beat, 3xx included
            HttpStatusCode status = http.put()
                    .uri(target)
                    .header(HttpHeaders.AUTHORIZATION, authorization)
                    .contentType(MediaType.APPLICATION_JSON)
                    .body(registration(endpoints))
                    .exchange((request, response) -> response.getStatusCode());
            if (status.is2xxSuccessful()) {
                succeeded();
                return;
            }
            failure = "HTTP " + status.value();
        } catch (IOException | RuntimeException e) {
            if (Thread.currentThread().isInterrupted()) {
                // closing: the client turned the interrupt into an I/O error
                return;
            }
            // Caught, not thrown: an exception would cancel every later beat of the schedule, and the
            // next beat is the retry. The client's wrapper only repeats the URL the log line names.
            Throwable cause = e instanceof ResourceAccessException && e.getCause() != null ? e.getCause() : e;
            failure = cause.getMessage() != null
                    ? cause.getClass().getSimpleName() + ": " + cause.getMessage()
                    : cause.toString();
        }
        failed(failure);
    }

    private RegisterNode registration(Endpoints advertised) throws IOException {
        FileStore store = Files.getFileStore(dataDir);
        return new RegisterNode(
                advertised.http(),
                advertised.nbdHost(),
                nbd.port(),
                token.value(),
                store.getTotalSpace(),
                engine.stats().bytesStored());
    }

    private void succeeded() {
        if (failing) {
            log.info("Node {} is registered with {} again", nodeId, target);
        } else if (!registered) {
            log.info("Node {} is registered with {}", nodeId, target);
        } else {
            log.debug("Heartbeat of node {} accepted", nodeId);
        }
        registered = true;
        failing = false;
    }

    private void failed(String failure) {
        if (failing) {
            log.debug("Heartbeat of node {} failed again: {}", nodeId, failure);
            return;
        }
        failing = true;
        log.warn(
                "Registering node {} with {} failed ({}); the node keeps serving and retries every {},"
                        + " logging again once it succeeds",
                nodeId,
                target,
                failure,
                every());
    }

    /** The heartbeat as people write it: 5s, 0.2s. */
    private String every() {
        return properties.heartbeat().toString().substring(2).toLowerCase(Locale.ROOT);
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            throw new IllegalStateException(
                    "This host's name does not resolve; set sprig.node.registry.node-id and the advertised endpoints",
                    e);
        }
    }

    private record Endpoints(String http, String nbdHost) {}
}
