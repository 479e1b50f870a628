package dev.sprig.node;

import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A storage node: one chunk engine over a local data directory, served over HTTP.
 *
 * <p>Its settings file is {@code storage-node.yml}, not {@code application.yml}, because api-server
 * carries this module on its classpath to serve the same node API in-process.
 */
@SpringBootApplication
public class StorageNodeApplication {

    public static final String CONFIG_NAME = "storage-node";

    public static void main(String[] args) {
        var application = new SpringApplication(StorageNodeApplication.class);
        application.setDefaultProperties(Map.of("spring.config.name", CONFIG_NAME));
        application.run(args);
    }
}
