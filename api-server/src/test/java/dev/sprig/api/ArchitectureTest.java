package dev.sprig.api;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.lang.annotation.Annotation;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.springframework.stereotype.Repository;
import org.springframework.web.bind.annotation.RestController;

/** Boundaries that review would otherwise have to catch by eye. */
class ArchitectureTest {

    static final JavaClasses SPRIG = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.sprig");

    /**
     * The features' own packages: what they decide is reached from controllers, operations and
     * start-up alike, so it is said in Sprig's terms, not HTTP's or SQL's. ({@code web},
     * {@code idempotency}, {@code database} and {@code backend} are the adapters around them.)
     */
    static final String[] DOMAIN = {
        "dev.sprig.api.lineage..",
        "dev.sprig.api.disk..",
        "dev.sprig.api.image..",
        "dev.sprig.api.cache..",
        "dev.sprig.api.operation..",
        "dev.sprig.api.leader..",
        "dev.sprig.api.node..",
        "dev.sprig.api.placement..",
        "dev.sprig.api.recovery.."
    };

    static final String[] HTTP = {"org.springframework.web..", "org.springframework.http..", "jakarta.servlet.."};

    static final String[] SQL = {"java.sql..", "javax.sql..", "org.springframework.jdbc.."};

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

    @Test
    void theConsoleTranslatesFormsToTheServicesTheApiCalls() {
        noClasses()
                .that()
                .resideInAPackage("dev.sprig.api.console..")
                .should()
                .dependOnClassesThat()
                .areAnnotatedWith(org.springframework.stereotype.Repository.class)
                .orShould()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "org.springframework.jdbc..", "dev.sprig.engine..", "dev.sprig.api.backend..", "java.sql..")
                .because("a page shows what the API would answer and an action does what the API would do:"
                        + " both through the same services, so that the console can never bypass a rule")
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

    @Test
    void featuresSpeakHttpOnlyInTheirControllers() {
        noClasses()
                .that()
                .resideInAnyPackage(DOMAIN)
                .and(not(declaredInClassAnnotatedWith(RestController.class)))
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(HTTP)
                .because("a feature's services hold its rules and are called by controllers, operations and"
                        + " start-up alike; translating HTTP to calls and results to responses is the"
                        + " @RestController's job (pass a request's host or header on as a plain value)")
                .check(SPRIG);
    }

    @Test
    void featuresSpeakSqlOnlyInTheirRepositories() {
        noClasses()
                .that()
                .resideInAnyPackage(DOMAIN)
                .and(not(declaredInClassAnnotatedWith(Repository.class)))
                .and(not(declaredIn("dev.sprig.api.leader.Leadership", "dev.sprig.api.leader.LeaderConfiguration")))
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(SQL)
                .because("SQL stays in the @Repository classes, where a schema change finds all of it; the one"
                        + " exception is the leader election, a PostgreSQL advisory lock that lives exactly as"
                        + " long as the connection Leadership holds it on, which no repository call could keep")
                .check(SPRIG);
    }

    @Test
    void onlyTheBackendTalksToStorageNodes() {
        noClasses()
                .that()
                .resideInAPackage("dev.sprig.api..")
                .and()
                .resideOutsideOfPackage("dev.sprig.api.backend..")
                .should()
                .dependOnClassesThat(resideInAnyPackage(
                                "dev.sprig.api.backend.remote..",
                                "dev.sprig.api.backend.embedded..",
                                "dev.sprig.node..")
                        .and(not(resideInAPackage("dev.sprig.node.access.."))))
                .because("the StorageBackend port is the one way to a node, so that the embedded engine and"
                        + " remote nodes stay interchangeable; dev.sprig.node.access is allowed: it is the"
                        + " format of the data tokens api-server signs for clients, not a call to a node")
                .check(SPRIG);
    }

    @Test
    void onlyTheBackendAndSourceDownloadsUseHttpClients() {
        noClasses()
                .that()
                .resideInAPackage("dev.sprig.api..")
                .and()
                .resideOutsideOfPackage("dev.sprig.api.backend..")
                .and(not(declaredIn("dev.sprig.api.image.SourceFetcher")))
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("java.net.http..", "org.springframework.web.client..")
                .because("calls to storage nodes belong to the backend; the one other HTTP client is"
                        + " SourceFetcher, which downloads the image a client named by URL (not a node)")
                .check(SPRIG);
    }

    @Test
    void onlyTheBackendAndImageCopiesUseNbdClients() {
        noClasses()
                .that()
                .resideInAPackage("dev.sprig.api..")
                .and()
                .resideOutsideOfPackage("dev.sprig.api.backend..")
                .and(not(declaredIn("dev.sprig.api.image.NbdCopy")))
                .should()
                .dependOnClassesThat()
                .resideInAPackage("dev.sprig.nbd.client..")
                .because("NBD to storage nodes belongs to the backend; the one other NBD client is NbdCopy,"
                        + " which reads an image being imported from the qemu-nbd it started on the image's"
                        + " file (not a node)")
                .check(SPRIG);
    }

    /** The class itself, or one nested in it (records, lambdas' holders), is annotated so. */
    static DescribedPredicate<JavaClass> declaredInClassAnnotatedWith(Class<? extends Annotation> annotation) {
        return DescribedPredicate.describe(
                "declared in a class annotated @" + annotation.getSimpleName(),
                javaClass -> outermost(javaClass).isAnnotatedWith(annotation));
    }

    /** One of these classes, or a class nested in one of them. */
    static DescribedPredicate<JavaClass> declaredIn(String... classNames) {
        Set<String> names = Set.of(classNames);
        return DescribedPredicate.describe(
                "declared in " + String.join(" or ", classNames),
                javaClass -> names.contains(outermost(javaClass).getName()));
    }

    private static JavaClass outermost(JavaClass javaClass) {
        JavaClass outer = javaClass;
        for (Optional<JavaClass> enclosing = outer.getEnclosingClass();
                enclosing.isPresent();
                enclosing = outer.getEnclosingClass()) {
            outer = enclosing.get();
        }
        return outer;
    }
}
