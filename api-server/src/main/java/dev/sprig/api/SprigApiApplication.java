package dev.sprig.api;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.scheduling.annotation.EnableScheduling;

/** The Sprig management plane: lineage, image cache, placement and the REST API. */
@SpringBootApplication
@ConfigurationPropertiesScan
@EnableScheduling
public class SprigApiApplication {

    public static void main(String[] args) {
        SpringApplication.run(SprigApiApplication.class, args);
    }
}
