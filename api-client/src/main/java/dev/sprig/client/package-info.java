/**
 * api-server's REST API as a client sees it: one record per schema of {@code openapi/sprig-api.json}
 * (named as the schema is, checked against it by {@code ContractTest}), and {@link
 * dev.sprig.client.SprigApiClient}, the calls over the JDK's HttpClient. Plain Java and Jackson, no
 * Spring: the client-agent, the benchmarks and api-server's tests share it, so that the wire is
 * typed once.
 *
 * <p>The records are written by hand, not generated from the document at build time: a dozen small
 * records read better than a generator's model classes and runtime, and ContractTest fails the build
 * on any difference all the same. A record answers with every property its schema has; the mapper
 * ignores properties it does not know (see {@link dev.sprig.client.Wire}), so that an older client
 * keeps working against a newer server.
 */
@NullMarked
package dev.sprig.client;

import org.jspecify.annotations.NullMarked;
