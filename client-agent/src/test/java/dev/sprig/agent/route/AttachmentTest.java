package dev.sprig.agent.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class AttachmentTest {

    static final String JSON = """
            {"externId":"disk-1","lcId":42,"sizeBytes":25165824,"pcSizeBytes":4194304,"segmentSizeBytes":262144,
             "nodes":[{"nodeId":"a","http":"http://h1:1","nbd":"nbd://h1:10809/t1/42","token":"t1"},
                      {"nodeId":"b","http":"http://h2:1","nbd":"nbd://h2:10900/t2/42","token":"t2"}]}
            """;

    @Test
    void eachNodesNbdUriGivesTheHostPortAndExportToOpen() {
        Attachment attachment = Attachments.parse(JsonMapper.builder().build().readTree(JSON));

        assertThat(attachment.nodes())
                .containsExactly(new NodeExport("h1", 10809, "t1/42"), new NodeExport("h2", 10900, "t2/42"));
        assertThat(attachment.lcId()).isEqualTo(42);
        assertThat(attachment.pcSizeBytes()).isEqualTo(4L << 20);
    }

    @Test
    void pcIndexesTakeTurnsOverTheNodes() {
        var first = new NodeExport("h1", 1, "t/1");
        var second = new NodeExport("h2", 1, "t/1");
        var attachment = new Attachment("disk-1", 1, 1 << 30, 4 << 20, List.of(first, second));

        assertThat(List.of(0L, 1L, 2L, 3L).stream().map(attachment::nodeOf))
                .containsExactly(first, second, first, second);
    }

    @Test
    void aUriWithoutPortUsesTheNbdDefault() {
        assertThat(NodeExport.of("nbd://node1/token/7")).isEqualTo(new NodeExport("node1", 10809, "token/7"));
    }

    @Test
    void anAttachmentWithoutNodesIsRefused() {
        assertThatThrownBy(() -> new Attachment("disk-1", 1, 1, 4 << 20, List.of()))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
