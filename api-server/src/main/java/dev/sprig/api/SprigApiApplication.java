package dev.sprig.api;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** The Sprig management plane: lineage, image cache, placement and the REST API. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class SprigApiApplication {

    public static void main(String[] args) {
        SpringApplication.run(SprigApiApplication.class, args);
    }
}
