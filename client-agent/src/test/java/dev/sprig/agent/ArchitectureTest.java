package dev.sprig.agent;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import dev.sprig.client.SprigApiClient;
import org.junit.jupiter.api.Test;

/** Boundaries of the agent (docs/decisions/004-client-agent.md) that review would otherwise check by eye. */
class ArchitectureTest {

    static final JavaClasses AGENT = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.sprig.agent");

    @Test
    void theAgentIsPlainJavaWithoutSpringOrTheStorageNode() {
        noClasses()
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("org.springframework..", "dev.sprig.node..", "dev.sprig.api..")
                .check(AGENT);
    }

    @Test
    void routingKnowsNeitherTheCommandLineNorTheApiClientOfTheCommands() {
        // it reads api-server's answers as the shared records, but makes its own calls
        noClasses()
                .that()
                .resideInAPackage("dev.sprig.agent.route..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("dev.sprig.agent.cli..")
                .orShould()
                .dependOnClassesThat()
                .belongToAnyOf(SprigApiClient.class)
                .check(AGENT);
    }
}
