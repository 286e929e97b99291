package dev.agentconfig.observe;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import org.apache.camel.CamelContext;

/**
 * The traces' own configuration keys (agentconfig.tracing.*, config/application.properties).
 *
 * @param otlpEndpoint where spans go (OTLP); empty: tracing is off, unless the standard
 *                     {@code OTEL_EXPORTER_OTLP_ENDPOINT} / {@code OTEL_EXPORTER_OTLP_TRACES_ENDPOINT} names one
 * @param serviceName  the resource's service.name ({@code OTEL_SERVICE_NAME} wins)
 * @param ids          how a user or tenant id appears in a span: {@code hashed} (the first 16 hex digits of
 *                     SHA-256 over the salt and the id) or {@code omitted}
 * @param idSalt       the salt of those hashes (agentconfig.tracing.id-salt; empty by default)
 * @param exclude      Camel endpoint patterns not traced (the metrics scrape and the health probe by default)
 */
public record TracingSettings(Optional<String> otlpEndpoint, String serviceName, Ids ids, String idSalt,
                              String exclude) {

    /** How ids appear in spans. */
    public enum Ids { HASHED, OMITTED }

    public static TracingSettings from(CamelContext context, Map<String, String> environment) {
        var props = context.getPropertiesComponent();
        Optional<String> endpoint = props.resolveProperty("agentconfig.tracing.otlp-endpoint")
                .map(String::trim).filter(v -> !v.isEmpty());
        if (endpoint.isEmpty()) {
            endpoint = Optional.ofNullable(environment.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
                    .or(() -> Optional.ofNullable(environment.get("OTEL_EXPORTER_OTLP_ENDPOINT")))
                    .map(String::trim).filter(v -> !v.isEmpty());
        }
        if ("true".equalsIgnoreCase(environment.getOrDefault("OTEL_SDK_DISABLED", "false").trim())) {
            endpoint = Optional.empty();
        }
        String ids = props.resolveProperty("agentconfig.tracing.ids").map(String::trim).orElse("hashed");
        Ids mode;
        try {
            mode = Ids.valueOf(ids.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("agentconfig.tracing.ids must be 'hashed' or 'omitted', not '" + ids + "'");
        }
        return new TracingSettings(endpoint,
                props.resolveProperty("agentconfig.tracing.service-name").map(String::trim).filter(v -> !v.isEmpty())
                        .orElse("agent-config-sync"),
                mode,
                props.resolveProperty("agentconfig.tracing.id-salt").orElse(""),
                props.resolveProperty("agentconfig.tracing.exclude").map(String::trim).orElse(""));
    }
}
