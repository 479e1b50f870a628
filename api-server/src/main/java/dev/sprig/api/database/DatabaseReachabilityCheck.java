package dev.sprig.api.database;

import dev.sprig.api.SprigApiProperties;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.Environment;

/**
 * Before the application context is refreshed, checks once that the external database answers,
 * retrying until the start-up timeout so that a database that is still starting (docker compose) is
 * waited for. Running this ahead of the refresh, on a plain driver connection rather than the pool,
 * turns a wrong URL into one message instead of the pool's, the migration tool's and the context's
 * stack traces. Does nothing when the embedded database is used.
 */
public final class DatabaseReachabilityCheck implements ApplicationContextInitializer<ConfigurableApplicationContext> {

    private static final Duration RETRY_PAUSE = Duration.ofMillis(500);
    private static final long MAX_ATTEMPT_SECONDS = 10;

    @Override
    public void initialize(ConfigurableApplicationContext context) {
        Environment environment = context.getEnvironment();
        String url = environment.getProperty(NoDatasourceUrlCondition.URL_PROPERTY);
        if (url == null || url.isBlank()) {
            return;
        }
        // only the database's settings: the others are bound, and checked, with the context
        Duration timeout = Binder.get(environment)
                .bindOrCreate("sprig.api.database", SprigApiProperties.Database.class)
                .startupTimeout();
        awaitAnswer(
                url,
                environment.getProperty("spring.datasource.username"),
                environment.getProperty("spring.datasource.password"),
                timeout);
    }

    static void awaitAnswer(String url, @Nullable String user, @Nullable String password, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            // Each attempt may take only what is left, so that a host that drops packets cannot stretch
            // start-up past the timeout.
            long secondsLeft = TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime());
            try (Connection ignored = DriverManager.getConnection(url, attempt(user, password, secondsLeft))) {
                return;
            } catch (SQLException failure) {
                if (System.nanoTime() + RETRY_PAUSE.toNanos() >= deadline || !isTransient(failure)) {
                    throw new DatabaseUnreachableException(url, describe(failure), failure);
                }
                pause();
            }
        }
    }

    private static Properties attempt(@Nullable String user, @Nullable String password, long secondsLeft) {
        String seconds = Long.toString(Math.max(1, Math.min(MAX_ATTEMPT_SECONDS, secondsLeft)));
        var properties = new Properties();
        if (user != null) {
            properties.setProperty("user", user);
        }
        if (password != null) {
            properties.setProperty("password", password);
        }
        properties.setProperty("connectTimeout", seconds);
        properties.setProperty("loginTimeout", seconds);
        return properties;
    }

    /** Wrong credentials or a missing database will not fix themselves; refused connections may. */
    private static boolean isTransient(SQLException failure) {
        String state = failure.getSQLState();
        return state == null || state.startsWith("08") || state.startsWith("57P");
    }

    private static String describe(SQLException failure) {
        Throwable root = failure;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String reason = failure.getMessage();
        if (root != failure && root.getMessage() != null) {
            reason = reason + " (" + root.getClass().getSimpleName() + ": " + root.getMessage() + ")";
        }
        return reason;
    }

    private static void pause() {
        try {
            Thread.sleep(RETRY_PAUSE.toMillis());
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the database", interrupted);
        }
    }
}
