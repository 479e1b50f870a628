package dev.sprig.node;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * Boundaries of the storage node that review would otherwise check by eye: the web layer is one
 * package ({@code http}) that api-server can take or leave, and the node's rules below it know
 * nothing of HTTP.
 */
class ArchitectureTest {

    static final JavaClasses NODE = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.sprig.node");

    /** What serving HTTP is made of: Spring MVC, Spring's HTTP types, the servlet API. */
    static final String[] WEB = {
        "org.springframework.web..",
        "org.springframework.http..",
        "org.springframework.boot.webmvc..",
        "org.springframework.boot.web.servlet..",
        "jakarta.servlet.."
    };

    /** The node's rules and data path, below its web layer. */
    static final String[] DOMAIN = {
        "dev.sprig.node.control..",
        "dev.sprig.node.access..",
        "dev.sprig.node.fence..",
        "dev.sprig.node.nbd..",
        "dev.sprig.node.metrics..",
        "dev.sprig.node.copy..",
        "dev.sprig.node.rebuild.."
    };

    /**
     * Registration is the node calling api-server, through Spring's HTTP client (RestClient and its
     * status and media types); it serves nothing, so it may use the client side of Spring Web only.
     */
    @Test
    void onlyTheWebLayerKnowsSpringMvcAndServlets() {
        noClasses()
                .that()
                .resideOutsideOfPackages("dev.sprig.node.http..", "dev.sprig.node.registry..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(WEB)
                .check(NODE);
        noClasses()
                .that()
                .resideInAPackage("dev.sprig.node.registry..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "org.springframework.web.bind..",
                        "org.springframework.web.servlet..",
                        "org.springframework.boot.webmvc..",
                        "org.springframework.boot.web.servlet..",
                        "jakarta.servlet..")
                .check(NODE);
    }

    @Test
    void theNodesRulesAndDataPathKnowNoSpringAndNoHttpServer() {
        noClasses()
                .that()
                .resideInAnyPackage(DOMAIN)
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("org.springframework..", "jakarta..")
                .check(NODE);
    }

    /**
     * Node-to-node copy is an HTTP client of another node, registration one of api-server; nothing
     * else below the web layer calls other servers.
     */
    @Test
    void onlyCopyAndRegistrationCallOtherServersOverHttp() {
        noClasses()
                .that()
                .resideOutsideOfPackages("dev.sprig.node.copy..", "dev.sprig.node.registry..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("java.net.http..", "org.springframework.web.client..")
                .check(NODE);
    }

    /** The storage wiring and the rules below the web layer do not reach up into it. */
    @Test
    void nothingBelowTheWebLayerReachesIntoIt() {
        noClasses()
                .that()
                .resideInAnyPackage(DOMAIN)
                .or()
                .resideInAnyPackage("dev.sprig.node.storage..", "dev.sprig.node.registry..")
                .should()
                .dependOnClassesThat()
                .resideInAPackage("dev.sprig.node.http..")
                .check(NODE);
    }
}
