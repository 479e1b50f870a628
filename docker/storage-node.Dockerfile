# storage-node image. Build the jar first (./mvnw -DskipTests package), then from the repository root:
#   docker build -f docker/storage-node.Dockerfile -t sprig/storage-node .
# The eclipse-temurin Ubuntu images install curl and wget; the health check uses wget.
FROM eclipse-temurin:17-jre
# The data directory exists and belongs to sprig before it becomes a volume, so that a new named
# volume starts with that owner.
RUN useradd --system --home /var/lib/sprig sprig && mkdir -p /var/lib/sprig/node && chown -R sprig /var/lib/sprig
WORKDIR /var/lib/sprig
COPY storage-node/target/storage-node-exec.jar /opt/sprig/storage-node.jar
USER sprig
ENV SPRIG_NODE_DATA_DIR=/var/lib/sprig/node
VOLUME /var/lib/sprig/node
# HTTP API (server.port) and NBD data port (sprig.node.nbd.port)
EXPOSE 8090 10809
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD wget -q -O /dev/null "http://127.0.0.1:${SERVER_PORT:-8090}/actuator/health/readiness" || exit 1
ENTRYPOINT ["java", "-jar", "/opt/sprig/storage-node.jar"]
