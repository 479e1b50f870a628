package dev.sprig.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.AnnotatedParameterizedType;
import java.lang.reflect.AnnotatedType;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The records of this package against the committed contract, openapi/sprig-api.json: every record
 * is the schema of its name, with the same properties (no more, no fewer), of the same types, and
 * required exactly where the schema says (a required property is a non-null component, an optional
 * one {@code @Nullable}). A field renamed, retyped, added or dropped on either side fails the build;
 * the lead regenerates the document from api-server, and this test then says which records follow.
 *
 * <p>Requests and answers alike: api-server documents a record's non-null components as required,
 * and its failures as {@code Problem}.
 */
class ContractTest {

    static final Path CONTRACT = Path.of("..", "openapi", "sprig-api.json");

    static final JsonNode SCHEMAS = schemas();

    @Test
    void everyRecordIsItsSchema() {
        List<String> drift = new ArrayList<>();
        for (Class<?> record : wireRecords()) {
            drift.addAll(differences(record, record.getSimpleName()));
        }
        assertThat(drift).isEmpty();
    }

    /** What {@link ApiException#problem()} reads: every failure of every operation is a Problem. */
    @Test
    void everyFailureIsAProblem() {
        List<String> without = new ArrayList<>();
        JsonNode paths = contract().path("paths");
        for (String path : paths.propertyNames()) {
            for (String method : paths.path(path).propertyNames()) {
                JsonNode responses = paths.path(path).path(method).path("responses");
                for (String range : List.of("4XX", "5XX")) {
                    JsonNode body = responses.path(range).path("content").path("application/problem+json");
                    if (!body.has("schema") || !refName(body.path("schema")).equals("Problem")) {
                        without.add(method.toUpperCase(java.util.Locale.ROOT) + " " + path + " " + range);
                    }
                }
            }
        }
        assertThat(without).isEmpty();
    }

    /** The test can fail: a record with one field renamed, one retyped and one made optional. */
    @Test
    void aRecordThatDriftedIsCaught() {
        record CreateDisk(String name, String source, long sizeBytes) {}

        assertThat(differences(CreateDisk.class, "CreateDisk"))
                .containsExactlyInAnyOrder(
                        "CreateDisk.source: not in the contract",
                        "CreateDisk.sourceId: in the contract, not in the record",
                        "CreateDisk.labels: in the contract, not in the record",
                        "CreateDisk.sizeBytes: optional in the contract, but the record's long cannot be left out");
    }

    /** An answer's nullness is checked too: null where the server never sends it, or the reverse. */
    @Test
    void aResponseRecordWithTheWrongNullnessIsCaught() {
        record SnapshotView(
                String externId,
                @Nullable String name,
                long sizeBytes,
                String state,
                String diskId,
                @Nullable Long lcId,
                Instant createdAt) {}

        assertThat(differences(SnapshotView.class, "SnapshotView"))
                .containsExactlyInAnyOrder(
                        "SnapshotView.name: required in the contract, @Nullable in the record",
                        "SnapshotView.diskId: optional in the contract, but the record's String cannot be left out",
                        "SnapshotView.labels: in the contract, not in the record");
    }

    @Test
    void aRecordOfTheWrongTypeIsCaught() {
        record OperationView(
                String id,
                String kind,
                String targetId,
                String state,
                int done,
                long total,
                String unit,
                @Nullable String error,
                @Nullable String errorCode,
                String createdAt,
                Instant updatedAt,
                @Nullable Instant finishedAt,
                @Nullable Long ratePerSecond,
                @Nullable Long estimatedSecondsLeft) {}

        assertThat(differences(OperationView.class, "OperationView"))
                .containsExactlyInAnyOrder(
                        "OperationView.done: integer/int64 in the contract, int in the record",
                        "OperationView.createdAt: string/date-time in the contract, String in the record");
    }

    @Test
    void optionalFieldsAreLeftOutOfRequests() {
        assertThat(Wire.write(new CreateDisk("d", "img-1"))).isEqualTo("{\"name\":\"d\",\"sourceId\":\"img-1\"}");
    }

    /** What differs between {@code record} and the schema named {@code schema}, one line each. */
    static List<String> differences(Class<?> record, String schema) {
        List<String> found = new ArrayList<>();
        JsonNode definition = SCHEMAS.path(schema);
        if (definition.isMissingNode()) {
            return List.of(schema + ": no such schema in the contract");
        }
        JsonNode properties = definition.path("properties");
        Set<String> required = new TreeSet<>();
        definition.path("required").forEach(name -> required.add(name.asString()));
        Set<String> components = new TreeSet<>();
        for (RecordComponent component : record.getRecordComponents()) {
            String name = component.getName();
            components.add(name);
            String where = schema + "." + name;
            JsonNode property = properties.path(name);
            if (property.isMissingNode()) {
                found.add(where + ": not in the contract");
                continue;
            }
            String mismatch = typeMismatch(property, component.getAnnotatedType());
            if (mismatch != null) {
                found.add(where + ": " + mismatch);
            }
            boolean nullable = nullable(component.getAnnotatedType());
            if (required.contains(name) && nullable) {
                found.add(where + ": required in the contract, @Nullable in the record");
            } else if (!required.contains(name) && !nullable) {
                found.add(where + ": optional in the contract, but the record's "
                        + component.getType().getSimpleName() + " cannot be left out");
            }
        }
        for (String name : properties.propertyNames()) {
            if (!components.contains(name)) {
                found.add(schema + "." + name + ": in the contract, not in the record");
            }
        }
        return found;
    }

    /** Null when the property's type is the component's. */
    static @Nullable String typeMismatch(JsonNode property, AnnotatedType type) {
        String documented = property.has("$ref")
                ? refName(property)
                : property.path("type").asString()
                        + (property.has("format")
                                ? "/" + property.path("format").asString()
                                : "");
        Class<?> raw = raw(type);
        boolean matches = switch (documented) {
            case "string" -> raw == String.class;
            case "string/date-time" -> raw == Instant.class;
            case "string/uri" -> raw == String.class;
            case "integer/int64" -> raw == long.class || raw == Long.class;
            case "integer/int32" -> raw == int.class || raw == Integer.class;
            case "boolean" -> raw == boolean.class || raw == Boolean.class;
            case "array" ->
                raw == List.class
                        && typeMismatch(
                                        property.path("items"),
                                        ((AnnotatedParameterizedType) type).getAnnotatedActualTypeArguments()[0])
                                == null;
            // a string map (labels): an object whose additional properties are all of one type
            case "object" ->
                raw == java.util.Map.class
                        && property.has("additionalProperties")
                        && typeMismatch(
                                        property.path("additionalProperties"),
                                        ((AnnotatedParameterizedType) type).getAnnotatedActualTypeArguments()[1])
                                == null;
            default ->
                property.has("$ref") && raw.isRecord() && raw.getSimpleName().equals(documented);
        };
        if (matches) {
            return null;
        }
        String actual = type.getType()
                .getTypeName()
                .replace("java.lang.", "")
                .replace("java.util.", "")
                .replace("java.time.", "")
                .replace(ContractTest.class.getPackageName() + ".", "");
        if (documented.equals("array")) {
            JsonNode items = property.path("items");
            documented = "array of "
                    + (items.has("$ref") ? refName(items) : items.path("type").asString());
        }
        return documented + " in the contract, " + actual.replaceAll("[A-Za-z.]*\\$", "") + " in the record";
    }

    static boolean nullable(AnnotatedType type) {
        return type.isAnnotationPresent(Nullable.class);
    }

    static Class<?> raw(AnnotatedType type) {
        return type instanceof AnnotatedParameterizedType parameterized
                ? (Class<?>) ((java.lang.reflect.ParameterizedType) parameterized.getType()).getRawType()
                : (Class<?>) type.getType();
    }

    static String refName(JsonNode property) {
        String ref = property.path("$ref").asString();
        return ref.substring(ref.lastIndexOf('/') + 1);
    }

    /** The package's top-level records: the wire types (nested ones, such as SprigApiClient.Timeouts, are the client's own). */
    static List<Class<?>> wireRecords() {
        Path classes = Path.of("target", "classes", "dev", "sprig", "client");
        try (Stream<Path> files = Files.list(classes)) {
            List<Class<?>> records = new ArrayList<>();
            for (Path file : files.sorted().toList()) {
                String name = file.getFileName().toString();
                if (!name.endsWith(".class") || name.contains("$") || name.equals("package-info.class")) {
                    continue;
                }
                Class<?> type = Class.forName(ContractTest.class.getPackageName() + "."
                        + name.substring(0, name.length() - ".class".length()));
                if (type.isRecord()) {
                    records.add(type);
                }
            }
            assertThat(records).as("records in %s", classes).isNotEmpty();
            return records;
        } catch (IOException | ClassNotFoundException e) {
            throw new AssertionError(e);
        }
    }

    static JsonNode schemas() {
        return contract().path("components").path("schemas");
    }

    static JsonNode contract() {
        try {
            return JsonMapper.builder().build().readTree(Files.readString(CONTRACT));
        } catch (IOException e) {
            throw new AssertionError("the contract " + CONTRACT.toAbsolutePath(), e);
        }
    }
}
