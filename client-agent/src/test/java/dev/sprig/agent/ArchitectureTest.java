package dev.sprig.agent;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
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
        noClasses()
                .that()
                .resideInAPackage("dev.sprig.agent.route..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("dev.sprig.agent.cli..", "dev.sprig.agent.api..")
                .check(AGENT);
    }
}
