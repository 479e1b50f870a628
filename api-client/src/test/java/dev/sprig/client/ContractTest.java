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
import java.util.Map;
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
 * <p>Where the document is known to be wrong, the test says so below, and fails once it is right, so
 * that the exception does not outlive the fault.
 */
class ContractTest {

    static final Path CONTRACT = Path.of("..", "openapi", "sprig-api.json");

    /** Records no schema describes, and why. Each must stay absent from the document. */
    static final Map<Class<?>, String> WITHOUT_SCHEMA = Map.of(
            Problem.class, "api-server documents no error bodies (problem+json) in the contract",
            AttachmentNode.class, "the document has no schema for it: see AttachmentView.nodes in KNOWN_DRIFT");

    /**
     * Properties where the document disagrees with what api-server answers, and why. Each must still
     * disagree: once the document is fixed, the entry goes and the property is checked.
     */
    static final Map<String, String> KNOWN_DRIFT = Map.of(
            "AttachmentView.nodes",
            "springdoc names both of api-server's NodeView records (the registry's and the attachment's)"
                    + " NodeView, and documents the attachment's nodes as the registry's (nodeId, state,"
                    + " httpEndpoint …) where api-server answers {nodeId, nbd}");

    /**
     * Answers springdoc documents with no {@code required} list at all (it does not read a record's
     * nullness): nothing to check their required-ness against. Each must stay without one.
     */
    static final Set<String> WITHOUT_REQUIRED = Set.of(
            "ImageView",
            "SourceView",
            "DiskView",
            "DiskPage",
            "BatchCreated",
            "SnapshotView",
            "OperationView",
            "AttachmentView",
            "CacheStats",
            "IssuedCredential");

    static final JsonNode SCHEMAS = schemas();

    @Test
    void everyRecordIsItsSchema() {
        List<String> drift = new ArrayList<>();
        for (Class<?> record : wireRecords()) {
            if (WITHOUT_SCHEMA.containsKey(record)) {
                continue;
            }
            drift.addAll(differences(record, record.getSimpleName()));
        }
        assertThat(drift).isEmpty();
    }

    @Test
    void theKnownDriftIsStillThere() {
        for (Map.Entry<String, String> known : KNOWN_DRIFT.entrySet()) {
            String schema = known.getKey().substring(0, known.getKey().indexOf('.'));
            List<String> drift = differences(record(schema), schema, true);
            assertThat(drift)
                    .as(
                            "%s is right now (%s was the fault): remove it from KNOWN_DRIFT",
                            known.getKey(), known.getValue())
                    .anyMatch(line -> line.startsWith(known.getKey() + ":"));
        }
    }

    @Test
    void recordsWithoutASchemaHaveNone() {
        for (Class<?> record : WITHOUT_SCHEMA.keySet()) {
            assertThat(SCHEMAS.has(record.getSimpleName()))
                    .as("the contract has a schema %s now: check the record against it", record.getSimpleName())
                    .isFalse();
        }
    }

    @Test
    void answersWithoutRequiredListsHaveNone() {
        for (String schema : WITHOUT_REQUIRED) {
            assertThat(SCHEMAS.path(schema).has("required"))
                    .as("%s documents its required properties now: remove it from WITHOUT_REQUIRED", schema)
                    .isFalse();
        }
    }

    /** The test can fail: a record with one field renamed, one retyped and one made optional. */
    @Test
    void aRecordThatDriftedIsCaught() {
        record CreateDisk(String name, String source, long sizeBytes) {}

        assertThat(differences(CreateDisk.class, "CreateDisk"))
                .containsExactlyInAnyOrder(
                        "CreateDisk.source: not in the contract",
                        "CreateDisk.sourceId: in the contract, not in the record",
                        "CreateDisk.sizeBytes: optional in the contract, but the record's long cannot be left out");
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
                @Nullable Instant finishedAt) {}

        assertThat(differences(OperationView.class, "OperationView"))
                .containsExactlyInAnyOrder(
                        "OperationView.done: integer/int64 in the contract, int in the record",
                        "OperationView.createdAt: string/date-time in the contract, String in the record");
    }

    @Test
    void optionalFieldsAreLeftOutOfRequests() {
        assertThat(Wire.write(new CreateDisk("d", "img-1"))).isEqualTo("{\"name\":\"d\",\"sourceId\":\"img-1\"}");
    }

    static List<String> differences(Class<?> record, String schema) {
        return differences(record, schema, false);
    }

    /** What differs between {@code record} and the schema named {@code schema}, one line each. */
    static List<String> differences(Class<?> record, String schema, boolean includingKnownDrift) {
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
            if (!includingKnownDrift && KNOWN_DRIFT.containsKey(where)) {
                continue;
            }
            JsonNode property = properties.path(name);
            if (property.isMissingNode()) {
                found.add(where + ": not in the contract");
                continue;
            }
            String mismatch = typeMismatch(property, component.getAnnotatedType());
            if (mismatch != null) {
                found.add(where + ": " + mismatch);
            }
            if (!definition.has("required")) {
                continue;
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
            case "integer/int64" -> raw == long.class || raw == Long.class;
            case "integer/int32" -> raw == int.class || raw == Integer.class;
            case "boolean" -> raw == boolean.class || raw == Boolean.class;
            case "array" ->
                raw == List.class
                        && typeMismatch(
                                        property.path("items"),
                                        ((AnnotatedParameterizedType) type).getAnnotatedActualTypeArguments()[0])
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

    static Class<?> record(String schema) {
        return wireRecords().stream()
                .filter(record -> record.getSimpleName().equals(schema))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no record " + schema));
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
        try {
            return JsonMapper.builder()
                    .build()
                    .readTree(Files.readString(CONTRACT))
                    .path("components")
                    .path("schemas");
        } catch (IOException e) {
            throw new AssertionError("the contract " + CONTRACT.toAbsolutePath(), e);
        }
    }
}
