package dev.sprig.api.database;

import com.zaxxer.hikari.HikariDataSource;
import dev.sprig.api.SprigApiProperties;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.time.Duration;
import javax.sql.DataSource;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;

/**
 * Starts PostgreSQL in-process when no external database is configured, so that api-server alone is
 * a complete system on one machine. Its data directory persists across restarts.
 */
@Configuration(proxyBeanMethods = false)
@Conditional(NoDatasourceUrlCondition.class)
class EmbeddedDatabaseConfiguration {

    static final String DATABASE = "postgres";
    static final String USER = "postgres";
    /** Above the 16 concurrent requests bulk provisioning tools typically send, so none waits for a connection. */
    static final int POOL_SIZE = 20;

    @Bean(destroyMethod = "close")
    EmbeddedPostgres embeddedPostgres(SprigApiProperties properties) throws IOException {
        SprigApiProperties.Embedded embedded = properties.database().embedded();
        var dataDir = embedded.dataDir().toAbsolutePath().normalize();
        // A server left running by an api-server that was killed would hold the directory.
        StalePostmaster.stop(dataDir);
        return EmbeddedPostgres.builder()
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(false)
                .setPort(embedded.port())
                .setPGStartupWait(Duration.ofSeconds(30))
                // The library's own JVM shutdown hook would stop the server while the context (whose
                // hook runs at the same time) still uses it: background work would then find the pool
                // broken and Hikari's close would sit out its reconnect backoff, up to 5 s. The context
                // closes the server itself, after the pool; one left by a hard kill is stopped above.
                .setRegisterShutdownHook(false)
                .setServerConfig("listen_addresses", "127.0.0.1")
                // The library tunes for throw-away test databases (-F, no synchronous commit); this one
                // holds the lineage of every disk, so a committed change must survive power loss.
                .setServerConfig("fsync", "on")
                .setServerConfig("synchronous_commit", "on")
                .start();
    }

    @Bean(destroyMethod = "close")
    DataSource dataSource(EmbeddedPostgres postgres) {
        var dataSource = new HikariDataSource();
        dataSource.setPoolName("sprig-embedded");
        dataSource.setJdbcUrl(postgres.getJdbcUrl(USER, DATABASE));
        dataSource.setUsername(USER);
        dataSource.setMaximumPoolSize(POOL_SIZE);
        return dataSource;
    }
}
