package dev.sprig.api.web;

import io.swagger.v3.core.converter.AnnotatedType;
import io.swagger.v3.core.converter.ModelConverter;
import io.swagger.v3.core.converter.ModelConverterContext;
import io.swagger.v3.core.util.Json;
import io.swagger.v3.oas.models.media.Schema;
import java.lang.reflect.RecordComponent;
import java.util.Iterator;
import org.jspecify.annotations.NullMarked;
import org.jspecify.annotations.Nullable;

/**
 * Documents a record's nullness as its schema's {@code required} list: in a {@link NullMarked}
 * package every component without {@link Nullable} is never null, so it is always in the JSON, and
 * clients may rely on it. Swagger reads only Bean Validation ({@code @NotNull}, {@code @NotBlank}),
 * which answers do not carry; requests, which do, come out the same either way, since every
 * component of theirs is either validated as present or {@code @Nullable}.
 */
final class NullnessAsRequired implements ModelConverter {

    @Override
    public @Nullable Schema<?> resolve(
            AnnotatedType type, ModelConverterContext context, Iterator<ModelConverter> chain) {
        if (!chain.hasNext()) {
            return null;
        }
        Schema<?> resolved = chain.next().resolve(type, context, chain);
        Class<?> raw = Json.mapper().constructType(type.getType()).getRawClass();
        if (resolved == null || !raw.isRecord() || !nullMarked(raw)) {
            return resolved;
        }
        Schema<?> model = resolved.get$ref() == null
                ? resolved
                : context.getDefinedModels()
                        .get(resolved.get$ref().substring(resolved.get$ref().lastIndexOf('/') + 1));
        if (model == null || model.getProperties() == null) {
            return resolved;
        }
        for (RecordComponent component : raw.getRecordComponents()) {
            String name = component.getName();
            boolean nullable = component.getAnnotatedType().isAnnotationPresent(Nullable.class);
            if (!nullable
                    && model.getProperties().containsKey(name)
                    && (model.getRequired() == null || !model.getRequired().contains(name))) {
                model.addRequiredItem(name);
            }
        }
        return resolved;
    }

    private static boolean nullMarked(Class<?> type) {
        for (Class<?> scope = type; scope != null; scope = scope.getEnclosingClass()) {
            if (scope.isAnnotationPresent(NullMarked.class)) {
                return true;
            }
        }
        return type.getPackage() != null && type.getPackage().isAnnotationPresent(NullMarked.class);
    }
}
