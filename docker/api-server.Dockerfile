# api-server image. Build the jar first (./mvnw -DskipTests package), then from the repository root:
#   docker build -f docker/api-server.Dockerfile -t sprig/api-server .
# The eclipse-temurin Ubuntu images install curl and wget; the health check uses wget.
FROM eclipse-temurin:17-jre
# qemu-nbd reads images imported from a source (raw or qcow2)
RUN apt-get update && apt-get install -y --no-install-recommends qemu-utils && rm -rf /var/lib/apt/lists/*
RUN useradd --system --home /var/lib/sprig sprig && mkdir -p /var/lib/sprig && chown sprig /var/lib/sprig
WORKDIR /var/lib/sprig
COPY api-server/target/api-server.jar /opt/sprig/api-server.jar
USER sprig
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD wget -q -O /dev/null "http://127.0.0.1:${SERVER_PORT:-8080}/actuator/health/readiness" || exit 1
ENTRYPOINT ["java", "-jar", "/opt/sprig/api-server.jar"]
