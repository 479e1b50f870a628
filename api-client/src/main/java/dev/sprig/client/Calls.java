package dev.sprig.client;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The operation of the contract a client method calls, as {@code METHOD /path/{id}}: a test checks
 * that every operation of openapi/sprig-api.json has a method, and no method names one it lacks.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
@interface Calls {
    String value();
}
