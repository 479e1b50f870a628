package dev.sprig.api;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** Boundaries that review would otherwise have to catch by eye. */
class ArchitectureTest {

    static final JavaClasses SPRIG = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.sprig");

    @Test
    void theStorageEngineKnowsNothingOfSpringJpaOrHttp() {
        noClasses()
                .that()
                .resideInAPackage("dev.sprig.engine..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("org.springframework..", "jakarta..", "java.net.http..", "dev.sprig.api..")
                .allowEmptyShould(true)
                .check(SPRIG);
    }

    @Test
    void controllersTranslateAndLeaveStorageToServices() {
        noClasses()
                .that()
                .resideInAPackage("dev.sprig.api..")
                .and()
                .areAnnotatedWith(org.springframework.web.bind.annotation.RestController.class)
                .should()
                .dependOnClassesThat()
                .areAnnotatedWith(org.springframework.stereotype.Repository.class)
                .orShould()
                .dependOnClassesThat()
                .resideInAnyPackage("org.springframework.jdbc..", "dev.sprig.engine..")
                .check(SPRIG);
    }

    /**
     * The remote backend is the exception: it is the nodes' HTTP client (a {@code RestClient} behind
     * the node API's interface), and turns their answers into the backend's errors.
     */
    @Test
    void domainErrorsKnowNothingOfHttp() {
        noClasses()
                .that()
                .resideInAnyPackage("dev.sprig.api.error..", "dev.sprig.api.lineage..", "dev.sprig.api.backend..")
                .and()
                .resideOutsideOfPackage("dev.sprig.api.backend.remote..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("org.springframework.http..", "org.springframework.web..", "jakarta.servlet..")
                .check(SPRIG);
    }

    @Test
    void operationsRunWorkWithoutKnowingTheFeaturesThatProvideIt() {
        noClasses()
                .that()
                .resideInAPackage("dev.sprig.api.operation..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "dev.sprig.api.disk..",
                        "dev.sprig.api.image..",
                        "dev.sprig.api.lineage..",
                        "dev.sprig.api.backend..",
                        "dev.sprig.node..")
                .check(SPRIG);
    }

    @Test
    void leadershipKnowsNothingOfTheWorkItGuards() {
        noClasses()
                .that()
                .resideInAPackage("dev.sprig.api.leader..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "dev.sprig.api.operation..",
                        "dev.sprig.api.disk..",
                        "dev.sprig.api.image..",
                        "dev.sprig.api.lineage..",
                        "dev.sprig.api.backend..",
                        "dev.sprig.api.node..",
                        "org.springframework.web..")
                .check(SPRIG);
    }
}
