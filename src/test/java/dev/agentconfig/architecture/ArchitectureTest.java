package dev.agentconfig.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The shape the code keeps: packages by feature without cycles between them, and a domain core that
 * depends on nothing of ours and on no framework. A new dependency that breaks either fails the build.
 */
class ArchitectureTest {
    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.agentconfig");

    @Test
    void noCyclesBetweenPackages() {
        slices().matching("dev.agentconfig.(*)..").should().beFreeOfCycles().check(MAIN);
    }

    @Test
    void theCoreDependsOnNothingOfOursAndOnNoFramework() {
        noClasses().that().resideInAPackage("dev.agentconfig.core..")
                .should().dependOnClassesThat().resideOutsideOfPackages("dev.agentconfig.core..", "java..")
                .because("the core is plain records and pure functions: no Camel, no HTTP, no JDBC, nothing of ours")
                .check(MAIN);
    }

    @Test
    void theCoreUsesNoJdbcNoHttpNoCamel() {
        noClasses().that().resideInAPackage("dev.agentconfig.core..")
                .should().dependOnClassesThat().resideInAnyPackage("java.sql..", "javax.sql..", "java.net.http..",
                        "org.apache.camel..", "io.vertx..")
                .check(MAIN);
    }

    @Test
    void onlyTheEdgesTakeAnExchange() {
        // the domain, the store, the crypto, the transports' data shapes: typed bodies, never an Exchange
        noClasses().that().resideInAnyPackage("dev.agentconfig.core..", "dev.agentconfig.store..",
                        "dev.agentconfig.crypto..", "dev.agentconfig.audit..", "dev.agentconfig.db..")
                .should().dependOnClassesThat().haveFullyQualifiedName("org.apache.camel.Exchange")
                .check(MAIN);
    }
}
