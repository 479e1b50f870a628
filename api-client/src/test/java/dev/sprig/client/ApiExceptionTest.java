package dev.sprig.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ApiExceptionTest {

    @Test
    void apiServersProblemIsRead() {
        ApiException refused = new ApiException(
                409,
                "{\"title\":\"Conflict\",\"status\":409,\"detail\":\"image img-1 has 1 dependent(s); delete them"
                        + " first\",\"instance\":\"/v1/images/img-1\",\"code\":\"HAS_DEPENDENTS\","
                        + "\"dependents\":[\"disk-1\"]}");

        assertThat(refused.problem())
                .isEqualTo(new Problem(
                        null,
                        "Conflict",
                        409,
                        "image img-1 has 1 dependent(s); delete them first",
                        "/v1/images/img-1",
                        "HAS_DEPENDENTS",
                        List.of("disk-1"),
                        null,
                        null));
    }

    /** A proxy's JSON is no problem of api-server's, and would break the record's non-null fields. */
    @Test
    void jsonFromSomethingElseIsNoProblem() {
        assertThat(new ApiException(502, "{\"error\":\"bad gateway\",\"status\":502}").problem())
                .isNull();
        assertThat(new ApiException(502, "<html>bad gateway</html>").problem()).isNull();
        assertThat(new ApiException(502, "").problem()).isNull();
    }
}
