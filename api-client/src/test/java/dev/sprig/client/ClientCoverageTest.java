package dev.sprig.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The client covers the contract: every operation of openapi/sprig-api.json has a method of
 * {@link SprigApiClient} that says it calls it ({@link Calls}), and no method names an operation the
 * contract does not have.
 */
class ClientCoverageTest {

    @Test
    void everyOperationOfTheContractHasAClientMethod() {
        assertThat(called())
                .as("operations with no @Calls method in SprigApiClient")
                .containsAll(contractOperations());
    }

    @Test
    void everyMethodCallsAnOperationOfTheContract() {
        assertThat(contractOperations())
                .as("@Calls naming operations the contract lacks")
                .containsAll(called());
    }

    static Set<String> called() {
        return Arrays.stream(SprigApiClient.class.getDeclaredMethods())
                .filter(method -> method.isAnnotationPresent(Calls.class))
                .map(ClientCoverageTest::operation)
                .collect(Collectors.toCollection(TreeSet::new));
    }

    private static String operation(Method method) {
        return method.getAnnotation(Calls.class).value();
    }

    static Set<String> contractOperations() {
        Set<String> operations = new TreeSet<>();
        JsonNode paths = ContractTest.contract().path("paths");
        for (String path : paths.propertyNames()) {
            for (String method : paths.path(path).propertyNames()) {
                operations.add(method.toUpperCase(Locale.ROOT) + " " + path);
            }
        }
        assertThat(operations).hasSizeGreaterThan(30);
        return operations;
    }
}
