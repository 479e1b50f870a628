/**
 * api-server's REST API as a client sees it: one record per schema of {@code openapi/sprig-api.json}
 * (named as the schema is, checked against it by {@code ContractTest}), and {@link
 * dev.sprig.client.SprigApiClient}, the calls over the JDK's HttpClient. Plain Java and Jackson, no
 * Spring: the client-agent, the benchmarks and api-server's tests share it, so that the wire is
 * typed once.
 */
@NullMarked
package dev.sprig.client;

import org.jspecify.annotations.NullMarked;
