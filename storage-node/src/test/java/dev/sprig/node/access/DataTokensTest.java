package dev.sprig.node.access;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class DataTokensTest {

    static final Instant NOW = Instant.parse("2030-01-01T00:00:00Z");
    final DataTokens node = DataTokens.forNodeToken("a-node-token-0123456789");

    @Test
    void aSignedGrantVerifiesAsItselfUntilItExpires() {
        DataGrant grant = new DataGrant(42, DataAccess.READ, NOW.plusSeconds(60));
        String token = node.sign(grant);

        assertThat(node.verify(token, NOW)).contains(grant);
        assertThat(node.verify(token, NOW.plusSeconds(59))).contains(grant);
        assertThat(node.verify(token, NOW.plusSeconds(60))).isEmpty();
    }

    @Test
    void aTokenFitsInAnExportNameAndIsCompact() {
        String token = node.sign(new DataGrant(Long.MAX_VALUE, DataAccess.READ_WRITE, NOW));

        assertThat(token).doesNotContain("/", "+", "=").hasSize(68).matches("[A-Za-z0-9_.-]+");
    }

    @Test
    void anotherNodesKeyOrAnyChangedCharacterIsRefused() {
        String token = node.sign(new DataGrant(7, DataAccess.READ, NOW.plusSeconds(60)));

        assertThat(DataTokens.forNodeToken("another-node-token-01234").verify(token, NOW))
                .isEmpty();
        for (int i = 0; i < token.length(); i++) {
            if (token.charAt(i) == '.') {
                continue;
            }
            for (char other : new char[] {'A', 'B', 'g', 'w', '_'}) {
                if (other != token.charAt(i)) {
                    String changed = token.substring(0, i) + other + token.substring(i + 1);
                    assertThat(node.verify(changed, NOW)).as(changed).isEmpty();
                }
            }
        }
        assertThat(node.verify(token + "A", NOW)).isEmpty();
        assertThat(node.verify(token.substring(1), NOW)).isEmpty();
        assertThat(node.verify("", NOW)).isEmpty();
        assertThat(node.verify("a-node-token-0123456789", NOW)).isEmpty();
    }

    @Test
    void aReplicatedGrantCarriesItsReplicaSetAndEpoch() {
        DataGrant grant = new DataGrant(
                Long.MAX_VALUE, DataAccess.READ_WRITE, NOW.plusSeconds(60), new ReplicaEpoch(Long.MAX_VALUE, 2, 3, 9));
        String token = node.sign(grant);

        assertThat(token).doesNotContain("/", "+", "=").hasSize(95).matches("[A-Za-z0-9_.-]+");
        assertThat(node.verify(token, NOW)).contains(grant);
        assertThat(node.verify(token, NOW).orElseThrow().replica().holdsPc(5)).isTrue();
        assertThat(node.verify(token, NOW).orElseThrow().replica().holdsPc(6)).isFalse();
    }

    @Test
    void aReplicatedTokenCutToTheLengthOfAPlainOneIsRefused() {
        String token =
                node.sign(new DataGrant(42, DataAccess.READ_WRITE, NOW.plusSeconds(60), new ReplicaEpoch(42, 0, 1, 1)));
        String payload = token.substring(0, token.indexOf('.'));

        assertThat(node.verify(payload.substring(0, 24) + token.substring(token.indexOf('.')), NOW))
                .isEmpty();
        for (int i = 0; i < token.length(); i += 7) {
            if (token.charAt(i) != '.') {
                String changed = token.substring(0, i) + (token.charAt(i) == 'A' ? 'B' : 'A') + token.substring(i + 1);
                assertThat(node.verify(changed, NOW)).as(changed).isEmpty();
            }
        }
    }
}
