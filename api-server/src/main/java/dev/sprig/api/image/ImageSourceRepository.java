package dev.sprig.api.image;

import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** The image_source table: the source of each imported image, deleted with the image. */
@Repository
class ImageSourceRepository {

    private final JdbcClient jdbc;

    ImageSourceRepository(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    void insert(String externId, ImageSource source) {
        jdbc.sql("INSERT INTO image_source (extern_id, url, format, sha256) VALUES (:id, :url, :format, :sha256)")
                .param("id", externId)
                .param("url", source.url())
                .param("format", source.format().column())
                .param("sha256", source.sha256())
                .update();
    }

    Optional<ImageSource> find(String externId) {
        return jdbc.sql("SELECT url, format, sha256 FROM image_source WHERE extern_id = :id")
                .param("id", externId)
                .query((rs, row) -> map(rs))
                .optional();
    }

    /** The sources of those of {@code externIds} that have one, in one round trip (a page of images). */
    Map<String, ImageSource> findAll(Collection<String> externIds) {
        if (externIds.isEmpty()) {
            return Map.of();
        }
        return jdbc
                .sql("SELECT extern_id, url, format, sha256 FROM image_source WHERE extern_id = ANY(:ids)")
                .param("ids", externIds.toArray(String[]::new))
                .query((rs, row) -> Map.entry(rs.getString("extern_id"), map(rs)))
                .list()
                .stream()
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    }

    private static ImageSource map(java.sql.ResultSet rs) throws java.sql.SQLException {
        return new ImageSource(
                rs.getString("url"), ImageFormat.ofColumn(rs.getString("format")), rs.getString("sha256"));
    }
}
