package dev.sprig.engine;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The engine is a library: the storage node, api-server, tests and benchmarks use it directly. */
class EngineArchitectureTest {

    static final JavaClasses ENGINE = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.sprig.engine");

    @Test
    void theEngineKnowsNoFrameworkNoNetworkAndNoOtherPartOfSprig() {
        noClasses()
                .that()
                .resideInAPackage("dev.sprig.engine..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "org.springframework..",
                        "jakarta..",
                        "java.net..",
                        "java.sql..",
                        "io.netty..",
                        "dev.sprig.node..",
                        "dev.sprig.api..",
                        "dev.sprig.agent..",
                        "dev.sprig.nbd..")
                .check(ENGINE);
    }
}
