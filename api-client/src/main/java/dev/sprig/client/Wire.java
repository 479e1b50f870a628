package dev.sprig.client;

import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The records of this package to and from api-server's JSON. */
public final class Wire {

    /**
     * Tolerant of fields it does not know, so that an older client keeps working against a newer
     * server; drift of the fields it does know fails {@code ContractTest} instead.
     */
    private static final JsonMapper JSON = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private Wire() {}

    /** A record as the JSON api-server reads (a request record leaves its absent fields out). */
    public static String write(Object value) {
        return JSON.writeValueAsString(value);
    }

    /** api-server's JSON as a record of this package. */
    public static <T> T read(String json, Class<T> type) {
        return JSON.readValue(json, type);
    }

    public static JsonNode tree(String json) {
        return JSON.readTree(json);
    }

    public static String pretty(JsonNode json) {
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json);
    }
}
