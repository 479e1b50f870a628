package dev.sprig.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The contract only grows within a version: what a client of {@code info.version} could call or
 * read (an operation, its parameters, a schema's field and its type) is listed in {@code
 * openapi/surface-<version>.txt}, and a change to {@code openapi/sprig-api.json} that drops or
 * renames any of it fails here, unless the version changes. New operations and fields are welcome,
 * and go into the surface file in the same change, so that a reviewer sees the API's growth in one
 * short diff; this test writes the contract's surface to {@code target/surface-<version>.txt} to
 * copy from.
 */
class ContractEvolutionTest {

    @Test
    void nothingTheVersionOffersIsRemovedOrRenamed() throws IOException {
        JsonNode contract = ContractTest.contract();
        Path released = surfaceFile(version(contract));
        if (!Files.exists(released)) {
            return; // a new version: it may break the last one's clients, and starts a surface of its own
        }
        Set<String> missing = new TreeSet<>(Files.readAllLines(released));
        missing.removeIf(String::isBlank);
        missing.removeAll(surface(contract));

        assertThat(missing)
                .as("removed or renamed within %s (a breaking change needs a new info.version)", version(contract))
                .isEmpty();
    }

    @Test
    void theSurfaceFileListsEverythingTheContractOffers() throws IOException {
        JsonNode contract = ContractTest.contract();
        Set<String> current = surface(contract);
        Path written = Path.of("target", "surface-" + version(contract) + ".txt");
        Files.createDirectories(written.getParent());
        Files.writeString(written, String.join("\n", current) + "\n");
        Path released = surfaceFile(version(contract));
        Set<String> listed = Files.exists(released) ? new TreeSet<>(Files.readAllLines(released)) : Set.of();

        Set<String> added = new TreeSet<>(current);
        added.removeAll(listed);

        assertThat(added)
                .as("new in the contract: add them to %s (the whole surface is in %s)", released, written)
                .isEmpty();
    }

    @Test
    void aFieldOrOperationThatWentAwayIsCaught() {
        ObjectNode changed = (ObjectNode) ContractTest.contract().deepCopy();
        ((ObjectNode) changed.path("components")
                        .path("schemas")
                        .path("DiskView")
                        .path("properties"))
                .remove("sizeBytes");
        ((ObjectNode) changed.path("paths")).remove("/v1/disks/{id}:resize");

        Set<String> missing = surface(ContractTest.contract());
        missing.removeAll(surface(changed));

        assertThat(missing)
                .containsExactlyInAnyOrder(
                        "field DiskView.sizeBytes integer/int64",
                        "operation POST /v1/disks/{id}:resize",
                        "parameter POST /v1/disks/{id}:resize header Idempotency-Key",
                        "parameter POST /v1/disks/{id}:resize path id");
    }

    /**
     * What a client depends on, one line each: {@code operation METHOD path}, {@code parameter
     * METHOD path in name}, {@code field Schema.property type}.
     */
    static Set<String> surface(JsonNode contract) {
        Set<String> lines = new TreeSet<>();
        JsonNode paths = contract.path("paths");
        for (String path : paths.propertyNames()) {
            for (String method : paths.path(path).propertyNames()) {
                String operation = method.toUpperCase(Locale.ROOT) + " " + path;
                lines.add("operation " + operation);
                for (JsonNode parameter : paths.path(path).path(method).path("parameters")) {
                    lines.add("parameter " + operation + " "
                            + parameter.path("in").asString() + " "
                            + parameter.path("name").asString());
                }
            }
        }
        JsonNode schemas = contract.path("components").path("schemas");
        for (String schema : schemas.propertyNames()) {
            JsonNode properties = schemas.path(schema).path("properties");
            for (String property : properties.propertyNames()) {
                lines.add("field " + schema + "." + property + " " + type(properties.path(property)));
            }
        }
        return lines;
    }

    private static String type(JsonNode property) {
        if (property.has("$ref")) {
            return ContractTest.refName(property);
        }
        String type = property.path("type").asString();
        if (type.equals("array")) {
            return "array of " + type(property.path("items"));
        }
        return type + (property.has("format") ? "/" + property.path("format").asString() : "");
    }

    private static String version(JsonNode contract) {
        return contract.path("info").path("version").asString();
    }

    private static Path surfaceFile(String version) {
        return ContractTest.CONTRACT.resolveSibling("surface-" + version + ".txt");
    }
}
