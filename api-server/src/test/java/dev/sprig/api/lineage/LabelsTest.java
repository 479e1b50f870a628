package dev.sprig.api.lineage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprig.api.error.SprigException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LabelsTest {

    @Test
    void labelsWithinTheRulesAreKeptSortedAndWrittenAsJson() {
        Labels labels = Labels.of(Map.of("team", "render", "example.com/fleet", "sale-2026", "empty", ""));

        assertThat(labels.values())
                .containsExactly(
                        Map.entry("empty", ""),
                        Map.entry("example.com/fleet", "sale-2026"),
                        Map.entry("team", "render"));
        assertThat(labels.json()).isEqualTo("{\"empty\":\"\",\"example.com/fleet\":\"sale-2026\",\"team\":\"render\"}");
        assertThat(Labels.parse(labels.json())).isEqualTo(labels);
        assertThat(Labels.of(null)).isEqualTo(Labels.NONE);
        assertThat(Labels.NONE.json()).isEqualTo("{}");
    }

    @Test
    void keysAndValuesOutsideTheRulesAreRefusedNamingWhat() {
        assertThatThrownBy(() -> Labels.of(Map.of("-team", "x")))
                .isInstanceOf(SprigException.InvalidArgument.class)
                .hasMessageContaining("label key '-team'");
        assertThatThrownBy(() -> Labels.of(Map.of("k".repeat(64), "x")))
                .isInstanceOf(SprigException.InvalidArgument.class);
        assertThatThrownBy(() -> Labels.of(Map.of("team", "two words")))
                .isInstanceOf(SprigException.InvalidArgument.class)
                .hasMessageContaining("label 'team' has value 'two words'");
        assertThatThrownBy(() -> Labels.of(Map.of("team", "\"}"))).isInstanceOf(SprigException.InvalidArgument.class);
        assertThatThrownBy(() -> Labels.of(Map.of("team", "v".repeat(64))))
                .isInstanceOf(SprigException.InvalidArgument.class);
        Map<String, String> nullValue = new HashMap<>();
        nullValue.put("team", null);
        assertThatThrownBy(() -> Labels.of(nullValue)).isInstanceOf(SprigException.InvalidArgument.class);
    }

    @Test
    void atMostThirtyTwoLabelsAResource() {
        Map<String, String> many = new HashMap<>();
        for (int i = 0; i < Labels.MAX_LABELS; i++) {
            many.put("k" + i, "v");
        }
        Labels full = Labels.of(many);

        assertThatThrownBy(() -> full.patched(Map.of("one-more", "v")))
                .isInstanceOf(SprigException.InvalidArgument.class)
                .hasMessageContaining("at most 32 labels");
        assertThat(full.patched(Map.of("k0", "changed")).values()).hasSize(32).containsEntry("k0", "changed");
    }

    @Test
    void aMergePatchSetsRemovesAndKeeps() {
        Labels labels = Labels.of(Map.of("team", "render", "tier", "gold"));
        Map<String, String> patch = new HashMap<>();
        patch.put("tier", null);
        patch.put("fleet", "a");
        patch.put("absent", null);

        assertThat(labels.patched(patch).values())
                .containsExactly(Map.entry("fleet", "a"), Map.entry("team", "render"));
    }

    @Test
    void aFilterIsKeyEqualsValuePairsEachKeyOnce() {
        assertThat(Labels.filter(List.of("team=render", "tier=")).values())
                .containsExactly(Map.entry("team", "render"), Map.entry("tier", ""));
        assertThat(Labels.filter(null)).isEqualTo(Labels.NONE);
        assertThatThrownBy(() -> Labels.filter(List.of("team")))
                .isInstanceOf(SprigException.InvalidArgument.class)
                .hasMessageContaining("must be key=value");
        assertThatThrownBy(() -> Labels.filter(List.of("team=a", "team=b")))
                .isInstanceOf(SprigException.InvalidArgument.class)
                .hasMessageContaining("asked for twice");
        assertThatThrownBy(() -> Labels.filter(List.of("url=a=b"))).isInstanceOf(SprigException.InvalidArgument.class);
    }
}
