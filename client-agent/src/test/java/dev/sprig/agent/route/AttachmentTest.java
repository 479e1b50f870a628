package dev.sprig.agent.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprig.client.AttachmentView;
import dev.sprig.client.Wire;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class AttachmentTest {

    static final String JSON = """
            {"externId":"disk-1","lcId":42,"sizeBytes":25165824,"pcSizeBytes":4194304,"segmentSizeBytes":262144,
             "access":"read-write","expiresAt":"2030-01-01T01:00:00Z",
             "nodes":[{"nodeId":"a","nbd":"nbd://h1:10809/t1/42"},
                      {"nodeId":"b","nbd":"nbd://h2:10900/t2/42"}]}
            """;

    @Test
    void eachNodesNbdUriGivesTheHostPortAndExportToOpen() {
        Attachment attachment = Attachments.parse(Wire.read(JSON, AttachmentView.class));

        assertThat(attachment.nodes())
                .containsExactly(
                        new ReplicaMember("a", new NodeExport("h1", 10809, "t1/42")),
                        new ReplicaMember("b", new NodeExport("h2", 10900, "t2/42")));
        assertThat(attachment.replicated())
                .as("nothing to drop: each node is a column of one")
                .isFalse();
        assertThat(attachment.lcId()).isEqualTo(42);
        assertThat(attachment.pcSizeBytes()).isEqualTo(4L << 20);
    }

    @Test
    void anAttachmentIsRefreshedTwoThirdsIntoItsTokensLife() {
        long fetched = Instant.parse("2030-01-01T00:00:00Z").toEpochMilli();

        Attachment attachment = Attachments.parse(Wire.read(JSON, AttachmentView.class), fetched);

        assertThat(attachment.refreshAtMillis()).isEqualTo(fetched + 40 * 60_000);
        assertThat(attachment.refreshDue(fetched + 39 * 60_000)).isFalse();
        assertThat(attachment.refreshDue(fetched + 40 * 60_000)).isTrue();
        assertThat(Attachments.parse(Wire.read(JSON, AttachmentView.class), fetched + 2 * 3600_000)
                        .refreshAtMillis())
                .as("an expiry already past (a clock ahead of api-server's) waits a second, not zero")
                .isEqualTo(fetched + 2 * 3600_000 + 1_000);
    }

    static final String REPLICATED = """
            {"externId":"disk-1","lcId":42,"sizeBytes":25165824,"pcSizeBytes":4194304,"segmentSizeBytes":262144,
             "access":"read-write","expiresAt":"2030-01-01T01:00:00Z","redundancy":"degraded",
             "nodes":[{"nodeId":"a","nbd":"nbd://h1:1/r1/42"},{"nodeId":"c","nbd":"nbd://h3:1/r3/42"}],
             "columns":[
               {"column":0,"epoch":1,"members":[
                  {"nodeId":"a","state":"in_sync","nbd":"nbd://h1:1/a0/42"},
                  {"nodeId":"b","state":"in_sync","nbd":"nbd://h2:1/b0/42"},
                  {"nodeId":"c","state":"in_sync","nbd":"nbd://h3:1/c0/42"}]},
               {"column":1,"epoch":3,"members":[
                  {"nodeId":"b","state":"stale","nbd":null},
                  {"nodeId":"c","state":"in_sync","nbd":"nbd://h3:1/c1/42"},
                  {"nodeId":"a","state":"in_sync","nbd":"nbd://h1:1/a1/42"}]}]}
            """;

    @Test
    void columnsGiveEachReplicaSetsEpochAndInSyncMembersAndKeepStaleOnesAsIdsOnly() {
        Attachment attachment = Attachments.parse(Wire.read(REPLICATED, AttachmentView.class));

        assertThat(attachment.replicated()).isTrue();
        assertThat(attachment.columns())
                .containsExactly(
                        new ReplicaColumn(
                                0,
                                1,
                                List.of(
                                        new ReplicaMember("a", new NodeExport("h1", 1, "a0/42")),
                                        new ReplicaMember("b", new NodeExport("h2", 1, "b0/42")),
                                        new ReplicaMember("c", new NodeExport("h3", 1, "c0/42"))),
                                List.of()),
                        new ReplicaColumn(
                                1,
                                3,
                                List.of(
                                        new ReplicaMember("c", new NodeExport("h3", 1, "c1/42")),
                                        new ReplicaMember("a", new NodeExport("h1", 1, "a1/42"))),
                                List.of("b")));
    }

    static final String REBUILDING = """
            {"externId":"disk-1","lcId":42,"sizeBytes":25165824,"pcSizeBytes":4194304,"segmentSizeBytes":262144,
             "access":"read-write","expiresAt":"2030-01-01T01:00:00Z",
             "nodes":[{"nodeId":"a","nbd":"nbd://h1:1/a0/42"}],
             "columns":[
               {"column":0,"epoch":5,"members":[
                  {"nodeId":"a","state":"in_sync","nbd":"nbd://h1:1/a0/42"},
                  {"nodeId":"d","state":"rebuilding","nbd":"nbd://h4:1/d0/42"},
                  {"nodeId":"b","state":"stale","nbd":null},
                  {"nodeId":"c","state":"in_sync","nbd":"nbd://h3:1/c0/42"},
                  {"nodeId":"e","state":"draining_someday","nbd":"nbd://h5:1/e0/42"},
                  {"nodeId":"f","state":"rebuilding","nbd":null}]}]}
            """;

    @Test
    void rebuildingMembersTakeWritesButNotReadsAndUnknownStatesAreIgnoredLikeStale() {
        Attachment attachment = Attachments.parse(Wire.read(REBUILDING, AttachmentView.class));

        ReplicaColumn column = attachment.columns().get(0);
        assertThat(column.inSync().stream().map(ReplicaMember::nodeId)).containsExactly("a", "c");
        assertThat(column.rebuilding()).containsExactly(new ReplicaMember("d", new NodeExport("h4", 1, "d0/42")));
        assertThat(column.stale())
                .as("stale, a state this agent does not know, and a rebuilding member it could not write to")
                .containsExactly("b", "e", "f");
        assertThat(column.writers().stream().map(ReplicaMember::nodeId)).containsExactly("a", "c", "d");
        assertThat(column.takesWrites("d")).isTrue();
        assertThat(column.takesWrites("e")).isFalse();
        assertThat(List.of(0L, 3L, 6L).stream().map(attachment::nodeOf).map(NodeExport::name))
                .as("reads prefer an in-sync member, never the rebuilding one")
                .containsOnly("a0/42");
        assertThat(attachment.nodes().stream().map(ReplicaMember::nodeId))
                .as("a flush reaches the rebuilding member too")
                .containsExactly("a", "c", "d");
    }

    @Test
    void theReadsOfAColumnsPcsAllPreferOneOfItsInSyncMembers() {
        Attachment attachment = Attachments.parse(Wire.read(REPLICATED, AttachmentView.class));

        assertThat(List.of(0L, 2L, 4L).stream().map(attachment::nodeOf).distinct())
                .singleElement()
                .extracting(NodeExport::name)
                .isIn("a0/42", "b0/42", "c0/42");
        assertThat(List.of(1L, 3L, 5L).stream().map(attachment::nodeOf).distinct())
                .singleElement()
                .extracting(NodeExport::name)
                .as("never the stale member")
                .isIn("c1/42", "a1/42");
    }

    @Test
    void aFlushGoesToEachInSyncNodeOnce() {
        Attachment attachment = Attachments.parse(Wire.read(REPLICATED, AttachmentView.class));

        assertThat(attachment.nodes().stream().map(ReplicaMember::nodeId)).containsExactly("a", "b", "c");
    }

    @Test
    void anAttachmentWithAnOlderEpochDoesNotReplaceANewerOne() {
        Attachment newer = Attachments.parse(Wire.read(REPLICATED, AttachmentView.class));
        Attachment older =
                Attachments.parse(Wire.read(REPLICATED.replace("\"epoch\":3", "\"epoch\":2"), AttachmentView.class));

        assertThat(older.supersedes(newer)).isFalse();
        assertThat(newer.supersedes(older)).isTrue();
        assertThat(newer.supersedes(newer)).isTrue();
    }

    @Test
    void anExportShownInLogsLeavesItsTokenOut() {
        NodeExport export = NodeExport.of("nbd://h1:10809/AQIAAA.secret-mac/42");

        assertThat(export.toString()).isEqualTo("h1:10809/…/42").doesNotContain("secret");
    }

    @Test
    void pcIndexesTakeTurnsOverTheFlatNodes() {
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
